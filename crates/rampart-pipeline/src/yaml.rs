//! YAML text → a small tree of [`Node`]s that keeps every position.
//!
//! Built on `saphyr-parser`'s event stream (the parser under `saphyr`) rather
//! than `saphyr`'s own document types, because a pipeline needs what those
//! drop: scalars exactly as written (`1.10` stays `1.10`, `010` stays `010`)
//! with their style, the position of every mapping key, every duplicate key
//! (YAML forbids them; we report each one at the second occurrence), and
//! events consumed one at a time so that no input can reach an assertion.
//!
//! Anchors and aliases are resolved by copying the anchored node, within a
//! budget that stops "billion laughs" expansions. Tags are ignored: a tagged
//! scalar keeps its text. YAML merge keys (`<<`) are left as ordinary keys;
//! the pipeline converter rejects them with a specific message.

use std::collections::HashMap;

use rampart_core::Location;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span};

use crate::Diagnostic;

/// How many nodes alias expansion may copy in one file.
const ALIAS_BUDGET: usize = 100_000;

/// Deepest nesting of collections accepted; deeper input is rejected rather
/// than risking the stack in the recursive passes that follow.
const MAX_DEPTH: usize = 200;

/// One YAML node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub loc: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A scalar exactly as written, after YAML unquoting and folding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub text: String,
    pub style: Style,
    /// Where the text itself starts: after an opening quote, or on the first
    /// content line of a block scalar.
    pub content: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// One `key: value` pair of a mapping, in file order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_loc: Location,
    pub value: Node,
}

impl Node {
    pub fn scalar(text: impl Into<String>, loc: Location) -> Node {
        Node {
            value: Value::Scalar(Scalar {
                text: text.into(),
                style: Style::Plain,
                content: loc,
            }),
            loc,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value of `key` when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// True for `~`, `null`, and an empty plain value (`key:`).
    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// What kind of node this is, for "expected a mapping, found ..." messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar(s) if s.is_null() => "an empty value",
            Value::Scalar(_) => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Scalar {
    pub fn is_null(&self) -> bool {
        self.style == Style::Plain
            && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

/// Parses every document of `source`. Empty documents come back as `None`.
/// On a syntax error, returns that error plus any found before it.
pub(crate) fn parse(source: &str) -> Result<Vec<Option<Node>>, Vec<Diagnostic>> {
    let mut builder = Builder::new();
    let mut parser = Parser::new_from_str(source);
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => {
                if let Err(fatal) = builder.event(event, span) {
                    builder.diagnostics.push(fatal);
                    return Err(builder.diagnostics);
                }
            }
            Err(e) => {
                builder.diagnostics.push(scan_error(e.marker(), e.info()));
                return Err(builder.diagnostics);
            }
        }
    }
    if builder.diagnostics.is_empty() {
        Ok(builder.docs)
    } else {
        Err(builder.diagnostics)
    }
}

fn location(m: &Marker) -> Location {
    Location::new(to_u32(m.line()), to_u32(m.col()).saturating_add(1))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn scan_error(mark: &Marker, info: &str) -> Diagnostic {
    let help = if info.contains("tab") {
        Some("YAML indentation must use spaces, not tabs".to_string())
    } else if info.contains("mapping values are not allowed") {
        Some(
            "a value containing \": \" must be quoted, or the indentation of this line is off"
                .to_string(),
        )
    } else if info.contains("did not find expected key") || info.contains("block") {
        Some("check the indentation of this line and the one before it".to_string())
    } else {
        None
    };
    Diagnostic {
        loc: location(mark),
        message: format!("invalid YAML: {info}"),
        help,
    }
}

enum Frame {
    Seq {
        loc: Location,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        loc: Location,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<Node>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    alias_budget: usize,
    docs: Vec<Option<Node>>,
    root: Option<Node>,
    diagnostics: Vec<Diagnostic>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_budget: ALIAS_BUDGET,
            docs: Vec::new(),
            root: None,
            diagnostics: Vec::new(),
        }
    }

    /// Handles one event; `Err` stops the whole parse.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        let loc = location(&span.start);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.stack.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                self.docs.push(self.root.take());
                self.stack.clear();
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let content = content_location(loc, &text, style);
                let node = Node {
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        style,
                        content,
                    }),
                    loc,
                };
                self.finish(node, anchor);
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(Diagnostic {
                        loc,
                        message: "alias refers to an anchor that is not defined in this document"
                            .to_string(),
                        help: Some(
                            "define the anchor (&name) before the alias (*name)".to_string(),
                        ),
                    });
                };
                let size = count_nodes(target, self.alias_budget);
                if size > self.alias_budget {
                    return Err(Diagnostic {
                        loc,
                        message: "aliases expand to too many nodes".to_string(),
                        help: Some(format!(
                            "a file may copy at most {ALIAS_BUDGET} nodes through aliases"
                        )),
                    });
                }
                self.alias_budget -= size;
                let mut node = target.clone();
                node.loc = loc;
                self.finish(node, 0);
            }
            Event::SequenceStart(anchor, _tag) => {
                self.check_depth(loc)?;
                self.stack.push(Frame::Seq {
                    loc,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _tag) => {
                self.check_depth(loc)?;
                self.stack.push(Frame::Map {
                    loc,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { loc, anchor, items }) => {
                    self.finish(
                        Node {
                            value: Value::Seq(items),
                            loc,
                        },
                        anchor,
                    );
                }
                Some(Frame::Map {
                    loc,
                    anchor,
                    entries,
                    ..
                }) => {
                    self.finish(
                        Node {
                            value: Value::Map(entries),
                            loc,
                        },
                        anchor,
                    );
                }
                None => {}
            },
        }
        Ok(())
    }

    fn check_depth(&self, loc: Location) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic {
                loc,
                message: format!("YAML nested more than {MAX_DEPTH} levels deep"),
                help: None,
            });
        }
        Ok(())
    }

    /// Places a completed node into its parent (or as the document root).
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(key_node) => {
                    let key_loc = key_node.loc;
                    let name = match key_node.as_scalar() {
                        Some(s) => s.text.clone(),
                        None => {
                            self.diagnostics.push(Diagnostic {
                                loc: key_loc,
                                message: format!(
                                    "mapping key is {}; pipeline keys must be plain names",
                                    key_node.kind()
                                ),
                                help: None,
                            });
                            return;
                        }
                    };
                    if let Some(first) = entries.iter().find(|e| e.key == name) {
                        self.diagnostics.push(Diagnostic {
                            loc: key_loc,
                            message: format!("duplicate key \"{name}\""),
                            help: Some(format!(
                                "\"{name}\" is already set at {}; keep only one",
                                first.key_loc
                            )),
                        });
                        return;
                    }
                    entries.push(Entry {
                        key: name,
                        key_loc,
                        value: node,
                    });
                }
            },
        }
    }
}

/// Where the text of a scalar starts, so positions inside it (expression
/// errors) can be computed from its first character. The parser starts a
/// block scalar's span at its first non-blank content line; leading blank
/// lines are newlines at the start of the text.
fn content_location(start: Location, text: &str, style: Style) -> Location {
    match style {
        Style::Plain => start,
        Style::SingleQuoted | Style::DoubleQuoted => {
            Location::new(start.line, start.col.saturating_add(1))
        }
        Style::Literal | Style::Folded => {
            let blank = text.chars().take_while(|&c| c == '\n').count();
            Location::new(start.line.saturating_sub(to_u32(blank)).max(1), start.col)
        }
    }
}

/// Counts the nodes of `node`, stopping once the count passes `limit`.
fn count_nodes(node: &Node, limit: usize) -> usize {
    let mut count = 0;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        count += 1;
        if count > limit {
            break;
        }
        match &n.value {
            Value::Scalar(_) => {}
            Value::Seq(items) => todo.extend(items),
            Value::Map(entries) => todo.extend(entries.iter().map(|e| &e.value)),
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Node {
        let mut docs = parse(src).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0).unwrap()
    }

    fn err(src: &str) -> Diagnostic {
        let mut errs = parse(src).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        errs.remove(0)
    }

    #[test]
    fn keys_and_values_keep_their_positions() {
        let n = one("a: 1\nb:\n  c: x\n");
        let map = n.as_map().unwrap();
        assert_eq!(map[0].key_loc, Location::new(1, 1));
        assert_eq!(map[0].value.loc, Location::new(1, 4));
        assert_eq!(map[1].key_loc, Location::new(2, 1));
        let inner = map[1].value.as_map().unwrap();
        assert_eq!(inner[0].key_loc, Location::new(3, 3));
        assert_eq!(inner[0].value.loc, Location::new(3, 6));
    }

    #[test]
    fn scalars_stay_as_written() {
        let n = one("a: 1.10\nb: 010\nc: true\nd: '3'\ne: ~\n");
        let text = |k: &str| n.get(k).unwrap().as_scalar().unwrap().text.clone();
        assert_eq!(text("a"), "1.10");
        assert_eq!(text("b"), "010");
        assert_eq!(text("c"), "true");
        assert_eq!(text("d"), "3");
        assert!(n.get("e").unwrap().is_null());
        assert!(!n.get("d").unwrap().is_null());
    }

    #[test]
    fn quoted_scalar_content_starts_after_the_quote() {
        let n = one("a: \"x y\"\nb: 'z'\n");
        let s = n.get("a").unwrap().as_scalar().unwrap();
        assert_eq!(s.style, Style::DoubleQuoted);
        assert_eq!(s.content, Location::new(1, 5));
        assert_eq!(
            n.get("b").unwrap().as_scalar().unwrap().content,
            Location::new(2, 5)
        );
    }

    #[test]
    fn block_scalars_keep_chomping_and_point_at_their_first_line() {
        let n =
            one("a: |+\n    one\n    two\n\nb: |-\n  x\nc: >\n  folded\n  line\nd: |\n\n   z\n");
        let a = n.get("a").unwrap().as_scalar().unwrap();
        assert_eq!(a.text, "one\ntwo\n\n");
        assert_eq!(a.style, Style::Literal);
        assert_eq!(a.content, Location::new(2, 5));
        assert_eq!(n.get("b").unwrap().as_scalar().unwrap().text, "x");
        assert_eq!(
            n.get("c").unwrap().as_scalar().unwrap().text,
            "folded line\n"
        );
        let d = n.get("d").unwrap().as_scalar().unwrap();
        assert_eq!(d.text, "\nz\n");
        assert_eq!(d.content, Location::new(11, 4));
    }

    #[test]
    fn flow_collections_and_comments_parse() {
        let n = one("# top\na: [1, 'two', {b: c}] # trailing\n");
        let items = n.get("a").unwrap().as_seq().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].get("b").unwrap().as_scalar().unwrap().text, "c");
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second_key() {
        let errs = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].message, "duplicate key \"a\"");
        assert_eq!(errs[0].loc, Location::new(3, 1));
        assert_eq!(
            errs[0].help.as_deref(),
            Some("\"a\" is already set at 1:1; keep only one")
        );
    }

    #[test]
    fn every_duplicate_key_is_reported() {
        let errs = parse("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[1].loc, Location::new(5, 3));
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = err("a: b\n  c: d\n");
        assert!(e.message.starts_with("invalid YAML: "), "{}", e.message);
        assert_eq!(e.loc.line, 2);
        let e = err("a: [1, 2\n");
        assert!(e.message.starts_with("invalid YAML: "), "{}", e.message);
    }

    #[test]
    fn tabs_get_a_hint() {
        let e = err("a:\n\tb: 1\n");
        assert_eq!(e.loc.line, 2);
        assert_eq!(
            e.help.as_deref(),
            Some("YAML indentation must use spaces, not tabs")
        );
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let n = one("base: &b {x: 1}\nuse: *b\n");
        let used = n.get("use").unwrap();
        assert_eq!(used.get("x").unwrap().as_scalar().unwrap().text, "1");
        assert_eq!(used.loc, Location::new(2, 6));
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let errs = parse(&src).unwrap_err();
        assert_eq!(
            errs.last().unwrap().message,
            "aliases expand to too many nodes"
        );
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let docs = parse("a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[0].is_some());
        assert!(docs[1].is_none() || docs[1].as_ref().unwrap().is_null());
        assert_eq!(docs[2].as_ref().unwrap().loc, Location::new(4, 1));
    }

    #[test]
    fn complex_keys_are_rejected() {
        let errs = parse("? [a]\n: b\n").unwrap_err();
        assert_eq!(errs[0].loc, Location::new(1, 3));
        assert!(errs[0].message.contains("plain names"));
    }

    #[test]
    fn too_deep_nesting_is_an_error_not_a_crash() {
        let src = "[".repeat(1000);
        let errs = parse(&src).unwrap_err();
        assert!(!errs.is_empty());
    }
}
