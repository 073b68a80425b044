//! Runtime inputs: `<+input>` fields and the values that fill them.
//!
//! A runtime input is a whole scalar field written `<+input>`, optionally
//! followed (outside the brackets, as Harness writes it) by `.default(v)`,
//! `.allowedValues(a,b,c)`, `.selectOneFrom(a,b)`, `.selectManyFrom(a,b)`,
//! `.regex(re)` and `.executionInput()`.
//!
//! Each field has a key: its dotted path through the pipeline, with list
//! entries named by their `identifier` (stages, steps, step groups) or `name`
//! (variables), `parallel:` wrappers left out, and a variable's `value` named
//! by the variable itself: `pipeline.stages.build.spec.execution.steps.compile.spec.command`,
//! `pipeline.variables.branch`. Pipeline variables may also be given by their
//! name alone (`branch`) and stage variables as `STAGE.NAME`.
//!
//! Filling happens on the YAML tree before it becomes a model, so a value
//! goes wherever a YAML scalar could, and a field that wants an object (a
//! codebase `build: <+input>`) is filled from keys below its path
//! (`....build.type=branch`, `....build.spec.branch=main`), which is what
//! an input set file flattens to. `.executionInput()` values are asked for up
//! front like any other: a local run has nobody to ask half-way.

use std::collections::{BTreeMap, BTreeSet};

use rampart_core::Location;

use crate::yaml::{self, Entry, Node, Style, Value};
use crate::{Diagnostic, Diagnostics, Inputs, known};

/// The suffixes of one `<+input>` field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Placeholder {
    pub default: Option<String>,
    /// `allowedValues` / `selectOneFrom`: the value must be one of these.
    pub allowed: Option<Vec<String>>,
    /// `selectManyFrom`: the value is a comma-separated subset of these.
    pub many_of: Option<Vec<String>>,
    pub regex: Option<String>,
}

/// How deep an object filled from input keys may nest.
const MAX_INPUT_DEPTH: usize = 32;

const PLACEHOLDER_HELP: &str = "write <+input> alone, optionally followed by .default(v), .allowedValues(a,b), .regex(r) or .executionInput()";

/// `None` when `text` is not a runtime input; `Some(Err)` when it starts like
/// one but its suffixes do not parse.
pub(crate) fn parse_placeholder(text: &str) -> Option<Result<Placeholder, String>> {
    let rest = text.trim().strip_prefix("<+input>")?;
    Some(parse_suffixes(rest))
}

fn parse_suffixes(mut rest: &str) -> Result<Placeholder, String> {
    let mut ph = Placeholder::default();
    while !rest.is_empty() {
        let Some(after_dot) = rest.strip_prefix('.') else {
            return Err(format!("unexpected \"{}\" after <+input>", clip(rest)));
        };
        let name_len = after_dot.len()
            - after_dot
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (name, after_name) = after_dot.split_at(name_len);
        let Some(args_start) = after_name.strip_prefix('(') else {
            return Err(format!("expected \"(\" after .{name}"));
        };
        let Some(close) = closing_paren(args_start) else {
            return Err(format!(".{name}( has no closing \")\""));
        };
        let args = &args_start[..close];
        rest = &args_start[close + 1..];
        match name {
            "default" => ph.default = Some(unquote(args.trim()).to_string()),
            "allowedValues" | "selectOneFrom" => ph.allowed = Some(split_args(args)),
            "selectManyFrom" => ph.many_of = Some(split_args(args)),
            "regex" => ph.regex = Some(args.to_string()),
            "executionInput" if args.trim().is_empty() => {}
            "executionInput" => return Err(".executionInput() takes no arguments".to_string()),
            other => return Err(format!("unknown runtime input method .{other}()")),
        }
    }
    Ok(ph)
}

/// Byte index of the `)` closing an argument list that starts right after `(`.
fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (c, quote) {
            ('\\', _) => escaped = true,
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => {}
            ('"' | '\'', None) => quote = Some(c),
            ('(', None) => depth += 1,
            (')', None) if depth == 0 => return Some(i),
            (')', None) => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits `a, 'b,c', d` on top-level commas; quotes are removed.
fn split_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    for c in args.chars() {
        match (c, quote) {
            (q, Some(open)) if q == open => {
                quote = None;
                current.push(c);
            }
            (_, Some(_)) => current.push(c),
            ('"' | '\'', None) => {
                quote = Some(c);
                current.push(c);
            }
            ('(' | '[' | '{', None) => {
                depth += 1;
                current.push(c);
            }
            (')' | ']' | '}', None) => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            (',', None) if depth == 0 => out.push(unquote(current.trim()).to_string()),
            _ => current.push(c),
        }
        if c == ',' && quote.is_none() && depth == 0 {
            current.clear();
        }
    }
    out.push(unquote(current.trim()).to_string());
    out
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

fn clip(s: &str) -> String {
    s.chars().take(30).collect()
}

/// Checks a value against a placeholder's allowed values and regex.
fn check_value(ph: &Placeholder, value: &str) -> Result<(), (String, String)> {
    if let Some(allowed) = &ph.allowed
        && !allowed.iter().any(|a| a == value)
    {
        return Err((
            format!("is \"{value}\", which is not an allowed value"),
            format!("allowed values: {}", allowed.join(", ")),
        ));
    }
    if let Some(many) = &ph.many_of {
        for part in value.split(',').map(str::trim) {
            if !many.iter().any(|a| a == part) {
                return Err((
                    format!("has \"{part}\", which is not an allowed value"),
                    format!("choose any of: {}", many.join(", ")),
                ));
            }
        }
    }
    if let Some(re) = &ph.regex {
        let anchored = format!("^(?:{re})$");
        let compiled = regex::RegexBuilder::new(&anchored)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                (
                    format!("has a .regex() that does not compile: {e}"),
                    "fix the regular expression".to_string(),
                )
            })?;
        if !compiled.is_match(value) {
            return Err((
                format!("is \"{value}\", which does not match the regex {re}"),
                "pass a value that matches the whole regex".to_string(),
            ));
        }
    }
    Ok(())
}

/// The runtime-input fields found while filling a pipeline.
#[derive(Debug, Default)]
pub(crate) struct Fill {
    /// Input keys that matched a field.
    pub used: BTreeSet<String>,
    /// The key to show for each runtime-input field, for help messages.
    pub fields: Vec<String>,
}

/// Fills (with `Some` inputs) or checks (with `None`) every `<+input>` field
/// under `pipeline`, the node of the `pipeline:` key.
pub(crate) fn fill(
    pipeline: &mut Node,
    inputs: Option<&Inputs>,
    fill: &mut Fill,
    diags: &mut Vec<Diagnostic>,
) {
    let mut cx = FillCx {
        inputs,
        fill,
        diags,
    };
    let mut path = vec!["pipeline".to_string()];
    cx.node(pipeline, &mut path, None);
}

struct FillCx<'a> {
    inputs: Option<&'a Inputs>,
    fill: &'a mut Fill,
    diags: &'a mut Vec<Diagnostic>,
}

impl FillCx<'_> {
    /// `fallback` is a variable's `default:` for its `value: <+input>`.
    fn node(&mut self, node: &mut Node, path: &mut Vec<String>, fallback: Option<&str>) {
        match &mut node.value {
            Value::Scalar(s) => {
                let Some(parsed) = parse_placeholder(&s.text) else {
                    return;
                };
                match parsed {
                    Err(msg) => self.diags.push(Diagnostic {
                        loc: node.loc,
                        message: format!("invalid runtime input \"{}\": {msg}", clip(&s.text)),
                        help: Some(PLACEHOLDER_HELP.to_string()),
                    }),
                    Ok(ph) => {
                        if let Some(replacement) = self.placeholder(&ph, node.loc, path, fallback) {
                            *node = replacement;
                        }
                    }
                }
            }
            Value::Seq(items) => self.seq(items, path),
            Value::Map(entries) => self.map(entries, path, false),
        }
    }

    fn seq(&mut self, items: &mut [Node], path: &mut Vec<String>) {
        for (index, item) in items.iter_mut().enumerate() {
            match classify(item, index) {
                Item::Wrapped(segment) => {
                    if let Value::Map(entries) = &mut item.value
                        && let Some(Entry {
                            value:
                                Node {
                                    value: Value::Map(inner_entries),
                                    ..
                                },
                            ..
                        }) = entries.first_mut()
                    {
                        path.push(segment);
                        self.map(inner_entries, path, false);
                        path.pop();
                    }
                }
                Item::Parallel => {
                    if let Value::Map(entries) = &mut item.value
                        && let Some(Entry {
                            value:
                                Node {
                                    value: Value::Seq(inner),
                                    ..
                                },
                            ..
                        }) = entries.first_mut()
                    {
                        self.seq(inner, path);
                    }
                }
                Item::Named(segment) => {
                    path.push(segment);
                    if let Value::Map(entries) = &mut item.value {
                        self.map(entries, path, true);
                    }
                    path.pop();
                }
                Item::Index(segment) => {
                    path.push(segment);
                    self.node(item, path, None);
                    path.pop();
                }
            }
        }
    }

    fn map(&mut self, entries: &mut [Entry], path: &mut Vec<String>, named_item: bool) {
        let default = if named_item {
            entries
                .iter()
                .find(|e| e.key == "default")
                .and_then(|e| e.value.as_scalar())
                .filter(|s| !s.is_null())
                .map(|s| s.text.clone())
        } else {
            None
        };
        for entry in entries.iter_mut() {
            if named_item && entry.key == "value" {
                self.node(&mut entry.value, path, default.as_deref());
            } else {
                path.push(entry.key.clone());
                self.node(&mut entry.value, path, None);
                path.pop();
            }
        }
    }

    /// The node to put in place of a placeholder, or `None` to keep it.
    fn placeholder(
        &mut self,
        ph: &Placeholder,
        loc: Location,
        path: &[String],
        fallback: Option<&str>,
    ) -> Option<Node> {
        let full = path.join(".");
        let short = short_key(path);
        let shown = short.clone().unwrap_or_else(|| full.clone());
        self.fill.fields.push(shown.clone());
        let inputs = self.inputs?;
        let exact = [Some(&full), short.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| inputs.values.contains_key(*k));
        if let Some(key) = exact {
            self.fill.used.insert(key.clone());
            let value = inputs.values.get(key).cloned().unwrap_or_default();
            if let Err((what, help)) = check_value(ph, &value) {
                self.diags.push(Diagnostic {
                    loc,
                    message: format!("runtime input \"{shown}\" {what}"),
                    help: Some(help),
                });
                return None;
            }
            return Some(value_node(value, loc));
        }
        let prefix = format!("{full}.");
        let below: Vec<(&String, &String)> = inputs
            .values
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .collect();
        if !below.is_empty() {
            for (k, _) in &below {
                self.fill.used.insert((*k).clone());
            }
            let pairs: Vec<(Vec<&str>, &str)> = below
                .iter()
                .map(|(k, v)| (k[prefix.len()..].split('.').collect(), v.as_str()))
                .collect();
            if let Some((k, _)) = below
                .iter()
                .zip(&pairs)
                .find(|(_, (p, _))| p.len() > MAX_INPUT_DEPTH)
                .map(|(kv, _)| kv)
            {
                self.diags.push(Diagnostic {
                    loc,
                    message: format!("input \"{}\" nests more than {MAX_INPUT_DEPTH} levels below runtime input \"{shown}\"", clip(k)),
                    help: None,
                });
                return None;
            }
            return Some(build_tree(&pairs, loc));
        }
        if let Some(default) = ph.default.as_deref().or(fallback) {
            if let Err((what, help)) = check_value(ph, default) {
                self.diags.push(Diagnostic {
                    loc,
                    message: format!("the default of runtime input \"{shown}\" {what}"),
                    help: Some(help),
                });
                return None;
            }
            return Some(value_node(default.to_string(), loc));
        }
        if full == "pipeline.properties.ci.codebase.build" {
            // A local run builds the checked-out tree; naming a branch is optional.
            return Some(Node::scalar("", loc));
        }
        self.diags.push(Diagnostic {
            loc,
            message: format!("runtime input \"{shown}\" has no value"),
            help: Some(format!(
                "pass --input {shown}=VALUE, or give the field a .default(VALUE)"
            )),
        });
        None
    }
}

/// The short key of a pipeline variable (`NAME`) or stage variable (`STAGE.NAME`).
fn short_key(path: &[String]) -> Option<String> {
    match path {
        [p, v, name] if p == "pipeline" && v == "variables" => Some(name.clone()),
        [p, s, stage, v, name] if p == "pipeline" && s == "stages" && v == "variables" => {
            Some(format!("{stage}.{name}"))
        }
        _ => None,
    }
}

/// A filled-in value; empty strings stay strings rather than becoming null.
fn value_node(text: String, loc: Location) -> Node {
    let mut node = Node::scalar(text, loc);
    if let Value::Scalar(s) = &mut node.value
        && s.text.is_empty()
    {
        s.style = Style::SingleQuoted;
    }
    node
}

/// Rebuilds a subtree from `(relative path, value)` pairs: numeric segments
/// (`0`, `1`, ...) make lists, others mappings.
fn build_tree(pairs: &[(Vec<&str>, &str)], loc: Location) -> Node {
    if let [(path, value)] = pairs
        && path.is_empty()
    {
        return value_node((*value).to_string(), loc);
    }
    let mut groups: BTreeMap<&str, Vec<(Vec<&str>, &str)>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (path, value) in pairs {
        let Some((head, tail)) = path.split_first() else {
            continue;
        };
        if !groups.contains_key(head) {
            order.push(head);
        }
        groups.entry(head).or_default().push((tail.to_vec(), value));
    }
    let numeric = !order.is_empty() && order.iter().all(|k| k.parse::<usize>().is_ok());
    if numeric {
        order.sort_by_key(|k| k.parse::<usize>().unwrap_or(usize::MAX));
        let items = order
            .iter()
            .map(|k| build_tree(groups.get(k).map(Vec::as_slice).unwrap_or_default(), loc))
            .collect();
        return Node {
            value: Value::Seq(items),
            loc,
        };
    }
    let entries = order
        .iter()
        .map(|k| Entry {
            key: (*k).to_string(),
            key_loc: loc,
            value: build_tree(groups.get(k).map(Vec::as_slice).unwrap_or_default(), loc),
        })
        .collect();
    Node {
        value: Value::Map(entries),
        loc,
    }
}

/// How a list entry is named in a runtime input's key.
enum Item {
    /// `- stage: {identifier: x}` (or step, stepGroup): named `x`, wrapper dropped.
    Wrapped(String),
    /// `- parallel: [...]`: transparent.
    Parallel,
    /// `- name: x` (variables): named `x`; its `value` is the item itself.
    Named(String),
    /// Anything else: its index.
    Index(String),
}

fn classify(item: &Node, index: usize) -> Item {
    if let Some(entries) = item.as_map() {
        if let [only] = entries {
            if matches!(only.key.as_str(), "stage" | "step" | "stepGroup")
                && let Some(id) = only.value.get("identifier").and_then(Node::as_scalar)
            {
                return Item::Wrapped(id.text.clone());
            }
            if only.key == "parallel" && only.value.as_seq().is_some() {
                return Item::Parallel;
            }
        }
        if let Some(name) = item.get("name").and_then(Node::as_scalar)
            && !name.is_null()
        {
            return Item::Named(name.text.clone());
        }
    }
    Item::Index(index.to_string())
}

impl Inputs {
    /// Reads an inputs file: a flat map (`branch: main`,
    /// `pipeline.stages.build.variables.x: 1`), or a Harness input set
    /// (`inputSet: {pipeline: {...}}`, or a bare `pipeline: {...}` overlay
    /// where variables are matched by `name` and stages and steps by
    /// `identifier`). YAML or JSON. Errors are located in `file`.
    pub fn parse_file(file: &str, source: &str) -> Result<Inputs, Diagnostics> {
        let located = |items: Vec<Diagnostic>| Diagnostics {
            file: file.to_string(),
            items,
        };
        let docs = yaml::parse(source).map_err(located)?;
        let mut docs = docs.into_iter().flatten().filter(|d| !d.is_null());
        let Some(root) = docs.next() else {
            return Ok(Inputs::default());
        };
        let mut diags = Vec::new();
        if let Some(extra) = docs.next() {
            diags.push(Diagnostic {
                loc: extra.loc,
                message: "an inputs file holds one document".to_string(),
                help: Some("merge the documents into one map".to_string()),
            });
        }
        let mut values = BTreeMap::new();
        let mut flat = Flatten {
            values: &mut values,
            diags: &mut diags,
        };
        match root.as_map() {
            None => flat.diags.push(Diagnostic {
                loc: root.loc,
                message: format!(
                    "an inputs file must be a map of input names to values, found {}",
                    root.kind()
                ),
                help: Some("write lines like `branch: main`, or a Harness input set".to_string()),
            }),
            Some(entries) => {
                let overlay = root
                    .get("inputSet")
                    .map(|set| (set, true))
                    .or_else(|| root.get("pipeline").map(|p| (p, false)));
                match overlay {
                    Some((set, true)) => {
                        if let Some(e) = set
                            .as_map()
                            .and_then(|m| m.iter().find(|e| e.key == "overlayInputSet"))
                        {
                            flat.diags.push(Diagnostic {
                                loc: e.key_loc,
                                message: "overlay input sets are not supported".to_string(),
                                help: Some("pass each input set's values in one file".to_string()),
                            });
                        }
                        match set.get("pipeline") {
                            Some(p) => flat.structural(p, &mut vec!["pipeline".to_string()]),
                            None => flat.diags.push(Diagnostic {
                                loc: set.loc,
                                message: "input set has no \"pipeline:\" key".to_string(),
                                help: Some(
                                    "an input set holds its values under inputSet.pipeline"
                                        .to_string(),
                                ),
                            }),
                        }
                    }
                    Some((p, false)) => flat.structural(p, &mut vec!["pipeline".to_string()]),
                    None => {
                        for e in entries {
                            flat.leaves(&e.value, &mut vec![e.key.clone()]);
                        }
                    }
                }
            }
        }
        if diags.is_empty() {
            Ok(Inputs { values })
        } else {
            Err(located(diags))
        }
    }
}

struct Flatten<'a> {
    values: &'a mut BTreeMap<String, String>,
    diags: &'a mut Vec<Diagnostic>,
}

impl Flatten<'_> {
    fn put(&mut self, key: String, value: &str, loc: Location) {
        if parse_placeholder(value).is_some() {
            // An input set template left unfilled: not a value.
            return;
        }
        if self.values.contains_key(&key) {
            self.diags.push(Diagnostic {
                loc,
                message: format!("input \"{key}\" is given twice"),
                help: Some("keep only one value".to_string()),
            });
            return;
        }
        self.values.insert(key, value.to_string());
    }

    /// Every scalar under `node`, keyed by its dotted path.
    fn leaves(&mut self, node: &Node, path: &mut Vec<String>) {
        match &node.value {
            Value::Scalar(s) => {
                let text = if s.is_null() { "" } else { s.text.as_str() };
                self.put(path.join("."), text, node.loc);
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    self.leaves(item, path);
                    path.pop();
                }
            }
            Value::Map(entries) => {
                for e in entries {
                    path.push(e.key.clone());
                    self.leaves(&e.value, path);
                    path.pop();
                }
            }
        }
    }

    /// An overlay of the pipeline's shape: identifiers and types only locate
    /// the values, they are not values.
    fn structural(&mut self, node: &Node, path: &mut Vec<String>) {
        let Some(entries) = node.as_map() else {
            self.leaves(node, path);
            return;
        };
        for e in entries {
            if matches!(e.key.as_str(), "identifier" | "type" | "name") {
                continue;
            }
            path.push(e.key.clone());
            self.overlay_value(&e.value, path);
            path.pop();
        }
    }

    fn overlay_value(&mut self, node: &Node, path: &mut Vec<String>) {
        match &node.value {
            Value::Seq(items) => self.overlay_seq(items, path),
            Value::Map(entries) => {
                for e in entries {
                    path.push(e.key.clone());
                    self.overlay_value(&e.value, path);
                    path.pop();
                }
            }
            Value::Scalar(_) => self.leaves(node, path),
        }
    }

    fn overlay_seq(&mut self, items: &[Node], path: &mut Vec<String>) {
        for (index, item) in items.iter().enumerate() {
            match classify(item, index) {
                Item::Wrapped(segment) => {
                    if let Some(inner) = item.as_map().and_then(|m| m.first()) {
                        path.push(segment);
                        self.structural(&inner.value, path);
                        path.pop();
                    }
                }
                Item::Parallel => {
                    if let Some(inner) = item
                        .as_map()
                        .and_then(|m| m.first())
                        .and_then(|e| e.value.as_seq())
                    {
                        self.overlay_seq(inner, path);
                    }
                }
                Item::Named(segment) => {
                    path.push(segment);
                    if let Some(value) = item.get("value") {
                        self.overlay_value(value, path);
                    }
                    path.pop();
                }
                Item::Index(segment) => {
                    path.push(segment);
                    self.overlay_value(item, path);
                    path.pop();
                }
            }
        }
    }
}

/// The diagnostic for an input key that filled no field.
pub(crate) fn unused_input(key: &str, fields: &[String], loc: Location) -> Diagnostic {
    let mut unique: Vec<&str> = fields.iter().map(String::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    let help = if unique.is_empty() {
        "this file has no <+input> fields".to_string()
    } else {
        let hint = known::suggest(key, &unique)
            .map(|s| format!("did you mean \"{s}\"? "))
            .unwrap_or_default();
        format!("{hint}runtime inputs of this file: {}", unique.join(", "))
    };
    Diagnostic {
        loc,
        message: format!("input \"{key}\" matches no <+input> field"),
        help: Some(help),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph(s: &str) -> Placeholder {
        parse_placeholder(s).unwrap().unwrap()
    }

    #[test]
    fn plain_placeholder() {
        assert_eq!(ph("<+input>"), Placeholder::default());
        assert!(parse_placeholder("main").is_none());
        assert!(parse_placeholder("echo <+input>").is_none());
    }

    #[test]
    fn suffixes_parse() {
        let p = ph("<+input>.default(main).allowedValues(main, dev,'a,b').executionInput()");
        assert_eq!(p.default.as_deref(), Some("main"));
        assert_eq!(
            p.allowed,
            Some(vec!["main".into(), "dev".into(), "a,b".into()])
        );
        let p = ph("<+input>.regex(^(main|release/.*)$)");
        assert_eq!(p.regex.as_deref(), Some("^(main|release/.*)$"));
        let p = ph("<+input>.default(\"x y\")");
        assert_eq!(p.default.as_deref(), Some("x y"));
        let p = ph("<+input>.selectManyFrom(a,b,c)");
        assert_eq!(p.many_of, Some(vec!["a".into(), "b".into(), "c".into()]));
    }

    #[test]
    fn bad_suffixes_are_errors() {
        let err = |s: &str| parse_placeholder(s).unwrap().unwrap_err();
        assert_eq!(err("<+input>x"), "unexpected \"x\" after <+input>");
        assert_eq!(err("<+input>.default(a"), ".default( has no closing \")\"");
        assert_eq!(
            err("<+input>.bogus(1)"),
            "unknown runtime input method .bogus()"
        );
        assert_eq!(err("<+input>.default"), "expected \"(\" after .default");
        assert_eq!(
            err("<+input>.executionInput(x)"),
            ".executionInput() takes no arguments"
        );
    }

    #[test]
    fn values_are_checked() {
        let p = ph("<+input>.allowedValues(a,b)");
        assert!(check_value(&p, "a").is_ok());
        let (what, help) = check_value(&p, "c").unwrap_err();
        assert_eq!(what, "is \"c\", which is not an allowed value");
        assert_eq!(help, "allowed values: a, b");
        let p = ph("<+input>.regex(v[0-9]+)");
        assert!(check_value(&p, "v12").is_ok());
        assert!(
            check_value(&p, "xv12").is_err(),
            "the regex must match the whole value"
        );
        let p = ph("<+input>.regex([)");
        assert!(
            check_value(&p, "x")
                .unwrap_err()
                .0
                .contains("does not compile")
        );
        let p = ph("<+input>.selectManyFrom(a,b,c)");
        assert!(check_value(&p, "a,c").is_ok());
        assert!(check_value(&p, "a,d").is_err());
    }

    fn parse_inputs(src: &str) -> BTreeMap<String, String> {
        Inputs::parse_file("in.yaml", src).unwrap().values
    }

    #[test]
    fn flat_inputs_file() {
        let v = parse_inputs("branch: main\ncount: 3\nflag: true\nempty:\n");
        assert_eq!(v["branch"], "main");
        assert_eq!(v["count"], "3");
        assert_eq!(v["flag"], "true");
        assert_eq!(v["empty"], "");
    }

    #[test]
    fn json_inputs_file() {
        let v = parse_inputs(r#"{"branch": "main", "build.x": "1"}"#);
        assert_eq!(v["branch"], "main");
        assert_eq!(v["build.x"], "1");
    }

    #[test]
    fn input_set_is_flattened_to_field_keys() {
        let src = r#"
inputSet:
  identifier: set1
  name: Set 1
  pipeline:
    identifier: p
    variables:
      - name: branch
        type: String
        value: main
      - name: left
        type: String
        value: <+input>
    properties:
      ci:
        codebase:
          build:
            type: branch
            spec:
              branch: dev
    stages:
      - stage:
          identifier: build
          type: CI
          variables:
            - name: x
              type: Number
              value: 3
          spec:
            execution:
              steps:
                - parallel:
                    - step:
                        identifier: compile
                        type: Run
                        spec:
                          command: make
"#;
        let v = parse_inputs(src);
        let keys: Vec<&str> = v.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "pipeline.properties.ci.codebase.build.spec.branch",
                "pipeline.properties.ci.codebase.build.type",
                "pipeline.stages.build.spec.execution.steps.compile.spec.command",
                "pipeline.stages.build.variables.x",
                "pipeline.variables.branch",
            ]
        );
        assert_eq!(v["pipeline.stages.build.variables.x"], "3");
    }

    #[test]
    fn bare_pipeline_overlay() {
        let v = parse_inputs(
            "pipeline:\n  identifier: p\n  variables:\n    - name: a\n      value: 1\n",
        );
        assert_eq!(v["pipeline.variables.a"], "1");
    }

    #[test]
    fn inputs_file_errors_are_located() {
        let e = Inputs::parse_file("in.yaml", "- a\n- b\n").unwrap_err();
        assert_eq!(e.file, "in.yaml");
        assert_eq!(e.items[0].loc, Location::new(1, 1));
        assert!(
            e.items[0]
                .message
                .starts_with("an inputs file must be a map")
        );
        let e = Inputs::parse_file("in.yaml", "a.b: 1\na:\n  b: 2\n").unwrap_err();
        assert_eq!(e.items[0].message, "input \"a.b\" is given twice");
        assert_eq!(e.items[0].loc, Location::new(3, 6));
        let e = Inputs::parse_file("in.yaml", "a: [1\n").unwrap_err();
        assert!(e.items[0].message.starts_with("invalid YAML"));
        let e = Inputs::parse_file("in.yaml", "inputSet:\n  overlayInputSet: [a]\n").unwrap_err();
        assert_eq!(e.items[0].message, "overlay input sets are not supported");
        assert_eq!(e.items[0].loc, Location::new(2, 3));
    }

    #[test]
    fn empty_inputs_file_is_empty() {
        assert!(parse_inputs("").is_empty());
        assert!(parse_inputs("# nothing\n").is_empty());
    }
}
