#include "backend/rados_backend.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#ifdef KS_HAVE_RADOS
#include <rados/librados.hpp>
#endif

#include "backend/cooldown.h"

namespace ks {

Result<RadosOptions> RadosOptionsFromEnv() {
  RadosOptions o;
  if (const char* c = std::getenv("KINTSUGI_CEPH_CONF")) o.conf_file = c;
  if (const char* id = std::getenv("KINTSUGI_CEPH_ID")) {
    o.client_id = id;
    // Ceph names the client "client.ID"; accept both spellings.
    if (o.client_id.rfind("client.", 0) == 0) o.client_id = o.client_id.substr(7);
  }
  if (const char* t = std::getenv("KINTSUGI_CEPH_TIMEOUT"); t && *t) {
    int v = 0;
    auto [end, ec] = std::from_chars(t, t + std::strlen(t), v);
    if (ec != std::errc() || *end != '\0' || v < 1 || v > 3600)
      return Fail(ErrorKind::kInvalidArgument,
                  "KINTSUGI_CEPH_TIMEOUT must be a number of seconds from 1 to 3600, not '" +
                      std::string(t) + "'");
    o.timeout_s = v;
  }
  return o;
}

// ENOENT, EEXIST and the rest map as for system calls.
Error RadosError(int ret, const std::string& what) {
  int err = -ret;
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return Error(ErrorKind::kNoSpace,
                   msg + " (the pool is full or over its quota: add capacity or raise the "
                         "quota with `ceph osd pool set-quota`, then run again)");
    case EACCES:
    case EPERM:
      return Error(ErrorKind::kPermission,
                   msg + " (the Ceph client lacks the capabilities for this: see "
                         "`ceph auth get client.ID` and KINTSUGI_CEPH_ID)");
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case ESHUTDOWN:
    case ENOTCONN:
    case EHOSTUNREACH:
    case EAGAIN:
    case EINTR:
      return Error(ErrorKind::kIo,
                   msg + " (the Ceph cluster did not answer in time: check `ceph -s`; "
                         "KINTSUGI_CEPH_TIMEOUT sets the limit; trying again may help)",
                   /*transient=*/true);
    case EFBIG:
    case E2BIG:
    case EMSGSIZE:
      return Error(ErrorKind::kIo,
                   msg + " (larger than the cluster's osd_max_object_size or "
                         "osd_max_write_size: raise them or use a smaller --pack-size-mib)");
    default:
      return ErrnoError(err, what);
  }
}

#ifndef KS_HAVE_RADOS

bool RadosSupported() { return false; }

Result<std::unique_ptr<Backend>> OpenRadosLocation(const std::string& location,
                                                   const RadosOptions&) {
  return Fail(ErrorKind::kUnsupported,
              "cannot open " + location +
                  ": this kintsugi was built without RADOS support (librados was not found "
                  "at build time; install librados-dev and libradospp-dev and rebuild)");
}

#else

bool RadosSupported() { return true; }

namespace {

struct RadosUrl {
  std::string pool;
  std::string ns;  // RADOS namespace; empty: the pool's default namespace
};

Result<RadosUrl> ParseUrl(const std::string& location) {
  std::string rest = location.substr(std::strlen("rados:"));
  RadosUrl u;
  size_t slash = rest.find('/');
  u.pool = rest.substr(0, slash);
  if (slash != std::string::npos) u.ns = rest.substr(slash + 1);
  if (u.pool.empty() || (slash != std::string::npos && u.ns.empty()) ||
      u.ns.find('/') != std::string::npos)
    return Fail(ErrorKind::kInvalidArgument,
                "bad RADOS location '" + location + "': write rados:POOL or rados:POOL/NAMESPACE");
  return u;
}

// Completions are reference-counted by librados: release() is their delete.
struct CompletionRelease {
  void operator()(librados::AioCompletion* c) const { c->release(); }
};
using Completion = std::unique_ptr<librados::AioCompletion, CompletionRelease>;

bool ValidName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name[0] != '.';
}

ceph::bufferlist ToBufferlist(ByteSpan data) {
  ceph::bufferlist bl;
  // A copy: librados may keep the buffer for a resend after the call.
  bl.append(reinterpret_cast<const char*>(data.data()), unsigned(data.size()));
  return bl;
}

class RadosBackend : public Backend {
 public:
  RadosBackend(std::string location, RadosUrl url, std::unique_ptr<librados::Rados> cluster,
               int timeout_s)
      : location_(std::move(location)),
        url_(std::move(url)),
        timeout_s_(timeout_s),
        cooldown_(int64_t(timeout_s) * 1000000000),
        cluster_(std::move(cluster)) {}

  std::string Location() const override { return location_; }

  Status Create() override {
    auto io = Io();
    if (io) return Ok();
    if (io.error().kind() != ErrorKind::kNotFound) return Fail(io.error());
    int r = cluster_->pool_create(url_.pool.c_str());
    if (r < 0 && r != -EEXIST)
      return Fail(RadosError(r, "create Ceph pool '" + url_.pool +
                                    "' (or have the cluster administrator create it)"));
    KS_ASSIGN(librados::IoCtx * created, Io());
    // Without an application tag, `ceph health` warns about the pool.
    if (r == 0) (void)created->application_enable("kintsugi", false);
    return Ok();
  }

  Status Put(ObjectType t, const std::string& name, ByteSpan data) override {
    return Write(t, name, data, /*exclusive=*/true);
  }

  Status Replace(ObjectType t, const std::string& name, ByteSpan data) override {
    return Write(t, name, data, /*exclusive=*/false);
  }

  Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset,
                    uint64_t length) override {
    KS_ASSIGN(librados::IoCtx * io, Io());
    std::string oid = Oid(t, name);
    // Size and bytes in one operation, so a short object is told apart
    // from a short read.
    librados::ObjectReadOperation op;
    uint64_t size = 0;
    time_t mtime = 0;
    int stat_rv = 0, read_rv = 0;
    ceph::bufferlist bl;
    op.stat(&size, &mtime, &stat_rv);
    op.read(offset, length, &bl, &read_rv);
    int r = Done(io->operate(oid, &op, nullptr));
    if (r < 0) return Fail(RadosError(r, "read " + Describe(oid)));
    if (stat_rv < 0) return Fail(RadosError(stat_rv, "stat " + Describe(oid)));
    if (read_rv < 0) return Fail(RadosError(read_rv, "read " + Describe(oid)));
    uint64_t want = length;
    if (length == 0) {
      if (offset > size)
        return Fail(ErrorKind::kCorrupt, "object " + Describe(oid) + " is shorter than expected");
      want = size - offset;
    }
    if (want > std::numeric_limits<uint32_t>::max())
      return Fail(ErrorKind::kInvalidArgument, "read of " + Describe(oid) + " is too large");
    if (bl.length() < want)
      return Fail(ErrorKind::kCorrupt, "object " + Describe(oid) + " is shorter than expected");
    Bytes out(want);
    if (want > 0) bl.begin().copy(unsigned(want), reinterpret_cast<char*>(out.data()));
    return out;
  }

  Result<ObjectInfo> Stat(ObjectType t, const std::string& name) override {
    KS_ASSIGN(librados::IoCtx * io, Io());
    std::string oid = Oid(t, name);
    uint64_t size = 0;
    time_t mtime = 0;
    int r = Done(io->stat(oid, &size, &mtime));
    if (r < 0) return Fail(RadosError(r, "stat " + Describe(oid)));
    return ObjectInfo{name, size};
  }

  Result<std::vector<ObjectInfo>> List(ObjectType t) override {
    KS_ASSIGN(librados::IoCtx * io, Io());
    std::string prefix = t == ObjectType::kConfig ? "" : std::string(ObjectTypeDir(t)) + "/";
    std::vector<std::string> names;
    // The iterator reports errors by throwing; they end here.
    try {
      for (auto it = io->nobjects_begin(); it != io->nobjects_end(); ++it) {
        const std::string& oid = it->get_oid();
        if (t == ObjectType::kConfig) {
          if (oid.find('/') == std::string::npos && oid.rfind("config", 0) == 0)
            names.push_back(oid);
        } else if (oid.size() > prefix.size() && oid.compare(0, prefix.size(), prefix) == 0) {
          names.push_back(oid.substr(prefix.size()));
        }
      }
    } catch (const std::system_error& e) {
      int code = e.code().value();
      return Fail(RadosError(Done(code > 0 ? -code : code), "list " + location_));
    } catch (const std::exception& e) {
      return Fail(ErrorKind::kIo, "list " + location_ + ": " + e.what());
    }
    // Sizes: many stats in flight at once instead of one round trip each.
    constexpr size_t kInFlight = 64;
    std::vector<ObjectInfo> out;
    out.reserve(names.size());
    for (size_t base = 0; base < names.size(); base += kInFlight) {
      size_t n = std::min(kInFlight, names.size() - base);
      std::vector<Completion> done(n);
      std::vector<uint64_t> sizes(n, 0);
      std::vector<time_t> mtimes(n, 0);
      for (size_t i = 0; i < n; i++) {
        done[i].reset(librados::Rados::aio_create_completion());
        int r = io->aio_stat(prefix + names[base + i], done[i].get(), &sizes[i], &mtimes[i]);
        if (r < 0) {
          for (size_t j = 0; j < i; j++) done[j]->wait_for_complete();
          return Fail(RadosError(r, "stat objects in " + location_));
        }
      }
      std::optional<Error> failed;
      for (size_t i = 0; i < n; i++) {
        done[i]->wait_for_complete();
        int r = Done(done[i]->get_return_value());
        if (r == -ENOENT) continue;  // removed since it was listed
        if (r < 0) {
          if (!failed) failed = RadosError(r, "stat " + Describe(prefix + names[base + i]));
          continue;
        }
        out.push_back({names[base + i], sizes[i]});
      }
      if (failed) return Fail(*failed);
    }
    return out;
  }

  Status Remove(ObjectType t, const std::string& name) override {
    KS_ASSIGN(librados::IoCtx * io, Io());
    std::string oid = Oid(t, name);
    int r = Done(io->remove(oid));
    if (r < 0) return Fail(RadosError(r, "remove " + Describe(oid)));
    return Ok();
  }

 private:
  // The same names as the local layout's paths, without pack subfolders
  // (RADOS has no directories): "config.0", "data/<id>.3", "keys/<id>.0".
  static std::string Oid(ObjectType t, const std::string& name) {
    if (t == ObjectType::kConfig) return name;
    return std::string(ObjectTypeDir(t)) + "/" + name;
  }

  // One operation, applied by the OSD as one transaction: the object
  // appears whole or not at all. Put (exclusive) adds a create that fails
  // with EEXIST if the object exists, and then nothing is written. Replace
  // (repair) is a bare write_full: readers see the old or the new bytes.
  Status Write(ObjectType t, const std::string& name, ByteSpan data, bool exclusive) {
    if (!ValidName(name))
      return Fail(ErrorKind::kInvalidArgument, "bad object name '" + name + "'");
    // A bufferlist counts in 32 bits; no shard comes near (design 2.1).
    if (data.size() > std::numeric_limits<uint32_t>::max())
      return Fail(ErrorKind::kInvalidArgument, "object " + name + " is too large for RADOS");
    KS_ASSIGN(librados::IoCtx * io, Io());
    ceph::bufferlist bl = ToBufferlist(data);
    librados::ObjectWriteOperation op;
    if (exclusive) op.create(true);
    op.write_full(bl);
    std::string oid = Oid(t, name);
    int r = Done(io->operate(oid, &op));
    if (r == -EEXIST && exclusive)
      return Fail(ErrorKind::kAlreadyExists, "object " + Describe(oid) + " already exists");
    if (r < 0) return Fail(RadosError(r, (exclusive ? "write " : "replace ") + Describe(oid)));
    return Ok();
  }

  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Passes a librados result through; a timeout starts the cool-down.
  int Done(int r) {
    if (r == -ETIMEDOUT) cooldown_.Trip(NowNs());
    return r;
  }

  std::string Describe(const std::string& oid) const { return location_ + " " + oid; }

  // The pool's I/O context, opened on first use: a pool that does not exist
  // yet is created by Create(). An IoCtx is safe for concurrent operations
  // once its namespace is set.
  Result<librados::IoCtx*> Io() {
    if (cooldown_.Active(NowNs()))
      return Fail(ErrorKind::kIo,
                  location_ + " did not answer within " + std::to_string(timeout_s_) +
                      " s a moment ago, and is not asked again for that long (is the Ceph "
                      "cluster down? check `ceph -s`)",
                  /*transient=*/true);
    std::lock_guard l(mu_);
    if (io_) return io_.get();
    auto io = std::make_unique<librados::IoCtx>();
    int r = cluster_->ioctx_create(url_.pool.c_str(), *io);
    if (r == -ENOENT)
      return Fail(ErrorKind::kNotFound,
                  "Ceph pool '" + url_.pool + "' does not exist: `kintsugi init` creates it, or " +
                      "create it with `ceph osd pool create " + url_.pool + "`");
    if (r < 0) return Fail(RadosError(r, "open Ceph pool '" + url_.pool + "'"));
    io->set_namespace(url_.ns);
    io_ = std::move(io);
    return io_.get();
  }

  const std::string location_;
  const RadosUrl url_;
  const int timeout_s_;
  Cooldown cooldown_;  // fail fast for a while after a timeout (cooldown.h)
  // Declared before io_, so the pool context closes before the connection.
  std::unique_ptr<librados::Rados> cluster_;
  std::mutex mu_;
  std::unique_ptr<librados::IoCtx> io_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenRadosLocation(const std::string& location,
                                                   const RadosOptions& options) {
  KS_ASSIGN(RadosUrl url, ParseUrl(location));
  auto cluster = std::make_unique<librados::Rados>();
  std::string client = "client." + (options.client_id.empty() ? "admin" : options.client_id);
  int r = cluster->init(options.client_id.empty() ? nullptr : options.client_id.c_str());
  if (r < 0) return Fail(RadosError(r, "set up a Ceph client " + client));
  // Without a path librados searches $CEPH_CONF, /etc/ceph/ceph.conf,
  // ~/.ceph/config and ./ceph.conf.
  r = cluster->conf_read_file(options.conf_file.empty() ? nullptr : options.conf_file.c_str());
  if (r < 0) {
    if (options.conf_file.empty())
      return Fail(ErrorKind::kInvalidArgument,
                  "cannot open " + location +
                      ": no Ceph configuration found (set CEPH_CONF or KINTSUGI_CEPH_CONF to "
                      "the cluster's ceph.conf, or install it as /etc/ceph/ceph.conf)");
    return Fail(RadosError(r, "read Ceph configuration " + options.conf_file)
                    .With("cannot open " + location));
  }
  r = cluster->conf_parse_env(nullptr);  // $CEPH_ARGS, as the ceph tools do
  if (r < 0) return Fail(RadosError(r, "parse CEPH_ARGS"));
  // Without these, an operation on a cluster that is down waits forever
  // (and a full memstore OSD blocks writes instead of failing them).
  std::string timeout = std::to_string(options.timeout_s);
  for (const char* opt : {"rados_osd_op_timeout", "rados_mon_op_timeout", "client_mount_timeout"})
    (void)cluster->conf_set(opt, timeout.c_str());
  // kintsugi reports failures itself; librados would also print them.
  (void)cluster->conf_set("log_to_stderr", "false");
  (void)cluster->conf_set("err_to_stderr", "false");
  r = cluster->connect();
  if (r < 0)
    return Fail(RadosError(r, "connect to the Ceph cluster as " + client +
                                  " (check `mon host` in the Ceph configuration and that the "
                                  "monitors are up)"));
  return std::unique_ptr<Backend>(
      std::make_unique<RadosBackend>(location, std::move(url), std::move(cluster),
                                     options.timeout_s));
}

#endif  // KS_HAVE_RADOS

}  // namespace ks
