//! A small element tree read with `quick-xml`'s namespace-aware reader: local names with
//! their namespace, attributes, text and children, plus the byte offset of each element for
//! error messages. Bounded nesting, so a hostile file cannot exhaust the stack.

use quick_xml::{
    NsReader,
    events::{BytesStart, Event},
    name::ResolveResult,
};

/// Deeper nesting than this is refused (XZuFi needs about a dozen levels).
const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub namespace: Option<String>,
    pub attributes: Vec<(String, String)>,
    /// The element's own text (not its children's), entities resolved.
    pub text: String,
    pub children: Vec<Element>,
    /// Byte offset of the start tag.
    pub offset: u64,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Trimmed own text, `None` when empty.
    pub fn value(&self) -> Option<&str> {
        Some(self.text.trim()).filter(|t| !t.is_empty())
    }

    /// All text of the element and its descendants, in document order.
    pub fn all_text(&self) -> String {
        let mut out = self.text.clone();
        for c in &self.children {
            let t = c.all_text();
            if !t.trim().is_empty() {
                if !out.trim().is_empty() {
                    out.push('\n');
                }
                out.push_str(&t);
            }
        }
        out
    }
}

/// Why a document could not be read, with the byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct XmlError {
    pub offset: u64,
    pub message: String,
}

/// A resolved namespace as an owned value (the reader's borrow ends here).
fn namespace(ns: ResolveResult) -> Result<Option<String>, String> {
    match ns {
        ResolveResult::Bound(n) => Ok(Some(n.as_ref().to_string())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(format!("unknown namespace prefix '{p}'")),
    }
}

fn start(
    offset: u64,
    namespace: Result<Option<String>, String>,
    e: &BytesStart,
) -> Result<Element, XmlError> {
    let fail = |message: String| XmlError { offset, message };
    let namespace = namespace.map_err(fail)?;
    let mut attributes = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| fail(format!("bad attribute: {e}")))?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| fail(format!("bad attribute value: {e}")))?;
        attributes.push((a.key.local_name().as_ref().to_string(), value.into_owned()));
    }
    Ok(Element {
        name: e.local_name().as_ref().to_string(),
        namespace,
        attributes,
        text: String::new(),
        children: Vec::new(),
        offset,
    })
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Reads a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let position = reader.buffer_position();
        let fail = |message: String| XmlError {
            offset: position,
            message,
        };
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| fail(e.to_string()))?;
        let ns = namespace(ns);
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(fail("content after the root element".into()));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(fail(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let el = start(position, ns, &e)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                let el = start(position, ns, &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| fail("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(fail("text outside the root element".into())),
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| fail(e.to_string()))? {
                    Some(c) => c,
                    None => {
                        let name = r.xml10_content().into_owned();
                        entity(&name).ok_or_else(|| fail(format!("unknown entity '&{name};'")))?
                    }
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push(c);
                }
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(fail(format!(
                        "the file ends inside <{}> (opened at byte {})",
                        open.name, open.offset
                    )));
                }
                return root.ok_or_else(|| fail("no root element".into()));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_namespaces_attributes_text_and_entities() {
        let root = parse(
            r#"<?xml version="1.0"?><x:a xmlns:x="urn:t"><x:b lang="de">Fisch &amp; Chips &#x41;</x:b><c/></x:a>"#,
        )
        .unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.namespace.as_deref(), Some("urn:t"));
        let b = root.child("b").unwrap();
        assert_eq!(b.text, "Fisch & Chips A");
        assert_eq!(b.attribute("lang"), Some("de"));
        assert_eq!(root.child("c").unwrap().namespace, None);
    }

    #[test]
    fn malformed_documents_are_errors_with_a_position() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "",
            "<a></a><b/>",
            "<a>&nope;</a>",
            "<x:a/>",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().message.contains("deeper"));
    }
}
