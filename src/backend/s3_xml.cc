#include "backend/s3_xml.h"

#include "util/clock.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <charconv>
#include <memory>
#include <mutex>

namespace ks {
namespace {

// Far larger than any page the server is asked for (1000 keys).
constexpr size_t kMaxXmlBytes = 32u << 20;

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

Error Garbled(const std::string& what) {
  return Error(ErrorKind::kCorrupt,
               "the S3 server sent a malformed " + what +
                   " response; check that the repository URL points at an S3 service",
               true);
}

void Quiet(void*, const char*, ...) {}

// Parses without network access, DTD loading or entity substitution, and
// without printing libxml2's own errors to stderr.
Result<Doc> ParseDoc(std::string_view xml, const std::string& what) {
  if (xml.size() > kMaxXmlBytes) return Fail(Garbled(what));
  if (xml.find("<!") != std::string_view::npos) return Fail(Garbled(what));  // DTD, CDATA
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });  // libxml2 wants this before threads
  // Encoding errors bypass the parser's flags and go to libxml2's generic
  // handler, which is per thread: silence it for this thread.
  xmlSetGenericErrorFunc(nullptr, Quiet);
  // S3 bodies are UTF-8 whatever they declare.
  Doc d(xmlReadMemory(xml.data(), int(xml.size()), "s3.xml", "UTF-8",
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA));
  if (!d || !xmlDocGetRootElement(d.get())) return Fail(Garbled(what));
  return d;
}

bool Is(const xmlNode* n, const char* name) {
  return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

std::string Text(const xmlNode* n) {
  std::string out;
  for (const xmlNode* c = n->children; c; c = c->next)
    if (c->type == XML_TEXT_NODE && c->content) out += reinterpret_cast<const char*>(c->content);
  return out;
}

const xmlNode* Child(const xmlNode* n, const char* name) {
  for (const xmlNode* c = n->children; c; c = c->next)
    if (Is(c, name)) return c;
  return nullptr;
}

std::optional<std::string> ChildText(const xmlNode* n, const char* name) {
  const xmlNode* c = Child(n, name);
  if (!c) return std::nullopt;
  return Text(c);
}

bool ParseBool(const std::string& s, bool& out) {
  if (s == "true") out = true;
  else if (s == "false") out = false;
  else return false;
  return true;
}

bool ParseSize(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

// The server's time for an entry ("2026-11-29T20:03:26.000Z"). Optional:
// retention falls back to client times where it is missing, so a missing or
// odd value is 0, not an error.
static int64_t LastModified(const xmlNode* entry) {
  auto text = ChildText(entry, "LastModified");
  int64_t ns = 0;
  if (!text || !ParseTimeUtc(*text, ns)) return 0;
  return ns;
}

Result<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  const std::string what = "ListObjectsV2";
  KS_ASSIGN(Doc d, ParseDoc(xml, what));
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (!Is(root, "ListBucketResult")) return Fail(Garbled(what));
  S3ListPage page;
  for (const xmlNode* c = root->children; c; c = c->next) {
    if (Is(c, "Contents")) {
      S3Object o;
      auto key = ChildText(c, "Key");
      auto size = ChildText(c, "Size");
      if (!key || key->empty() || !size || !ParseSize(*size, o.size)) return Fail(Garbled(what));
      o.key = std::move(*key);
      o.last_modified_ns = LastModified(c);
      page.objects.push_back(std::move(o));
    } else if (Is(c, "CommonPrefixes")) {
      auto p = ChildText(c, "Prefix");
      if (!p) return Fail(Garbled(what));
      page.common_prefixes.push_back(std::move(*p));
    } else if (Is(c, "IsTruncated")) {
      if (!ParseBool(Text(c), page.truncated)) return Fail(Garbled(what));
    } else if (Is(c, "NextContinuationToken")) {
      page.next_token = Text(c);
    }
  }
  // A truncated page without a token would make the caller loop forever.
  if (page.truncated && page.next_token.empty()) return Fail(Garbled(what));
  return page;
}

Result<S3VersionsPage> ParseListObjectVersions(std::string_view xml) {
  const std::string what = "ListObjectVersions";
  KS_ASSIGN(Doc d, ParseDoc(xml, what));
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (!Is(root, "ListVersionsResult")) return Fail(Garbled(what));
  S3VersionsPage page;
  for (const xmlNode* c = root->children; c; c = c->next) {
    bool marker = Is(c, "DeleteMarker");
    if (Is(c, "Version") || marker) {
      S3Version v;
      v.delete_marker = marker;
      auto key = ChildText(c, "Key");
      auto vid = ChildText(c, "VersionId");
      auto latest = ChildText(c, "IsLatest");
      if (!key || key->empty() || !vid || vid->empty() || !latest ||
          !ParseBool(*latest, v.latest))
        return Fail(Garbled(what));
      if (!marker) {
        auto size = ChildText(c, "Size");
        if (!size || !ParseSize(*size, v.size)) return Fail(Garbled(what));
      }
      v.key = std::move(*key);
      v.version_id = std::move(*vid);
      v.last_modified_ns = LastModified(c);
      page.versions.push_back(std::move(v));
    } else if (Is(c, "IsTruncated")) {
      if (!ParseBool(Text(c), page.truncated)) return Fail(Garbled(what));
    } else if (Is(c, "NextKeyMarker")) {
      page.next_key_marker = Text(c);
    } else if (Is(c, "NextVersionIdMarker")) {
      page.next_version_marker = Text(c);
    }
  }
  if (page.truncated && page.next_key_marker.empty()) return Fail(Garbled(what));
  return page;
}

std::optional<S3ErrorBody> ParseS3Error(std::string_view xml) {
  auto d = ParseDoc(xml, "error");
  if (!d) return std::nullopt;
  const xmlNode* root = xmlDocGetRootElement(d->get());
  if (!Is(root, "Error")) return std::nullopt;
  auto code = ChildText(root, "Code");
  if (!code || code->empty()) return std::nullopt;
  return S3ErrorBody{*code, ChildText(root, "Message").value_or("")};
}

Result<std::string> ParseUploadId(std::string_view xml) {
  const std::string what = "CreateMultipartUpload";
  KS_ASSIGN(Doc d, ParseDoc(xml, what));
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (!Is(root, "InitiateMultipartUploadResult")) return Fail(Garbled(what));
  auto id = ChildText(root, "UploadId");
  if (!id || id->empty()) return Fail(Garbled(what));
  return *id;
}

Result<bool> ParseVersioningEnabled(std::string_view xml) {
  const std::string what = "GetBucketVersioning";
  KS_ASSIGN(Doc d, ParseDoc(xml, what));
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (!Is(root, "VersioningConfiguration")) return Fail(Garbled(what));
  return ChildText(root, "Status").value_or("") == "Enabled";
}

Result<bool> ParseObjectLockEnabled(std::string_view xml) {
  const std::string what = "GetObjectLockConfiguration";
  KS_ASSIGN(Doc d, ParseDoc(xml, what));
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (!Is(root, "ObjectLockConfiguration")) return Fail(Garbled(what));
  return ChildText(root, "ObjectLockEnabled").value_or("") == "Enabled";
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace ks
