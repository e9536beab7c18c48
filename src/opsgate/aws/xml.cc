// File: opsgate/aws/xml.cc
#include "opsgate/aws/xml.h"

#include <expat.h>

#include <climits>
#include <cstring>
#include <memory>

namespace opsgate::aws {
namespace {

std::string_view LocalName(std::string_view name) {
  const size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool IsNamespaceDecl(std::string_view name) {
  return name == "xmlns" || name.rfind("xmlns:", 0) == 0;
}

struct ParserDeleter {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

struct State {
  XML_Parser parser = nullptr;
  const XmlLimits* limits = nullptr;
  XmlElement root;
  bool have_root = false;
  std::vector<XmlElement*> stack;
  size_t elements = 0;
  std::optional<core::Error> error;

  void Stop(core::ErrorCode code, std::string_view what) {
    if (error) {
      return;
    }
    error =
        core::Error{code, "XML line " + std::to_string(XML_GetCurrentLineNumber(parser)) +
                              ", column " + std::to_string(XML_GetCurrentColumnNumber(parser) + 1) +
                              ": " + std::string(what)};
    XML_StopParser(parser, XML_FALSE);
  }
};

void XMLCALL OnStart(void* data, const XML_Char* name, const XML_Char** attrs) {
  auto* s = static_cast<State*>(data);
  if (s->error) {
    return;
  }
  if (++s->elements > s->limits->max_elements) {
    s->Stop(core::ErrorCode::kResourceExhausted,
            "more than " + std::to_string(s->limits->max_elements) + " elements");
    return;
  }
  if (s->stack.size() >= s->limits->max_depth) {
    s->Stop(core::ErrorCode::kInvalidArgument,
            "nesting deeper than " + std::to_string(s->limits->max_depth));
    return;
  }
  XmlElement* el = nullptr;
  if (s->stack.empty()) {
    s->have_root = true;
    el = &s->root;
  } else {
    el = &s->stack.back()->children.emplace_back();
  }
  el->name = std::string(LocalName(name));
  for (size_t i = 0; attrs[i] != nullptr && attrs[i + 1] != nullptr; i += 2) {
    const std::string_view attr_name(attrs[i]);
    if (IsNamespaceDecl(attr_name)) {
      continue;
    }
    el->attributes.emplace_back(std::string(LocalName(attr_name)), std::string(attrs[i + 1]));
  }
  s->stack.push_back(el);
}

void XMLCALL OnEnd(void* data, const XML_Char* /*name*/) {
  auto* s = static_cast<State*>(data);
  if (!s->error && !s->stack.empty()) {
    s->stack.pop_back();
  }
}

void XMLCALL OnText(void* data, const XML_Char* text, int len) {
  auto* s = static_cast<State*>(data);
  if (!s->error && !s->stack.empty() && len > 0) {
    s->stack.back()->text.append(text, static_cast<size_t>(len));
  }
}

void XMLCALL OnDoctype(void* data, const XML_Char* /*name*/, const XML_Char* /*sysid*/,
                       const XML_Char* /*pubid*/, int /*has_internal_subset*/) {
  static_cast<State*>(data)->Stop(core::ErrorCode::kInvalidArgument,
                                  "DOCTYPE declarations are not allowed");
}

void XMLCALL OnEntityDecl(void* data, const XML_Char* /*name*/, int /*is_param*/,
                          const XML_Char* /*value*/, int /*value_length*/, const XML_Char* /*base*/,
                          const XML_Char* /*system_id*/, const XML_Char* /*public_id*/,
                          const XML_Char* /*notation*/) {
  static_cast<State*>(data)->Stop(core::ErrorCode::kInvalidArgument,
                                  "entity declarations are not allowed");
}

int XMLCALL OnExternalEntity(XML_Parser /*parser*/, const XML_Char* /*context*/,
                             const XML_Char* /*base*/, const XML_Char* /*system_id*/,
                             const XML_Char* /*public_id*/) {
  return XML_STATUS_ERROR;  // never load external entities
}

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const XmlElement& c : children) {
    if (c.name == child_name) {
      return &c;
    }
  }
  return nullptr;
}

const XmlElement* XmlElement::Find(std::string_view path) const {
  const XmlElement* cur = this;
  while (cur != nullptr && !path.empty()) {
    const size_t slash = path.find('/');
    cur = cur->Child(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return cur;
}

std::string_view XmlElement::ChildText(std::string_view path) const {
  const XmlElement* el = Find(path);
  return el == nullptr ? std::string_view() : std::string_view(el->text);
}

std::optional<std::string_view> XmlElement::OptionalChildText(std::string_view path) const {
  const XmlElement* el = Find(path);
  if (el == nullptr) {
    return std::nullopt;
  }
  return std::string_view(el->text);
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view child_name) const {
  std::vector<const XmlElement*> out;
  for (const XmlElement& c : children) {
    if (c.name == child_name) {
      out.push_back(&c);
    }
  }
  return out;
}

std::optional<std::string_view> XmlElement::Attribute(std::string_view attr_name) const {
  for (const auto& [n, v] : attributes) {
    if (n == attr_name) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

core::Result<XmlElement> ParseXml(std::string_view xml, const XmlLimits& limits) {
  if (xml.size() > limits.max_bytes || xml.size() > static_cast<size_t>(INT_MAX)) {
    return core::Fail(core::ResourceExhausted("XML document of " + std::to_string(xml.size()) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(limits.max_bytes)));
  }
  std::unique_ptr<XML_ParserStruct, ParserDeleter> parser(XML_ParserCreate(nullptr));
  if (!parser) {
    return core::Fail(core::Internal("XML parser allocation failed"));
  }
  State state;
  state.parser = parser.get();
  state.limits = &limits;
  XML_SetUserData(parser.get(), &state);
  XML_SetElementHandler(parser.get(), OnStart, OnEnd);
  XML_SetCharacterDataHandler(parser.get(), OnText);
  XML_SetStartDoctypeDeclHandler(parser.get(), OnDoctype);
  XML_SetEntityDeclHandler(parser.get(), OnEntityDecl);
  XML_SetExternalEntityRefHandler(parser.get(), OnExternalEntity);
  XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);

  const XML_Status st = XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  if (state.error) {
    return core::Fail(*state.error);
  }
  if (st != XML_STATUS_OK) {
    const XML_Error code = XML_GetErrorCode(parser.get());
    const char* reason = XML_ErrorString(code);
    return core::Fail(core::InvalidArgument(
        "XML line " + std::to_string(XML_GetCurrentLineNumber(parser.get())) + ", column " +
        std::to_string(XML_GetCurrentColumnNumber(parser.get()) + 1) + ": " +
        (reason != nullptr ? reason : "parse error")));
  }
  if (!state.have_root) {
    return core::Fail(core::InvalidArgument("XML line 1, column 1: no root element"));
  }
  return std::move(state.root);
}

}  // namespace opsgate::aws
