//! YAML tree → typed [`model`](crate::model), checking every key on the way.
//!
//! Each object's keys are checked against [`known`](crate::known): a key
//! Rampart supports is read, a metadata key is accepted and ignored, a
//! Harness key Rampart does not support gets its own message, and anything
//! else is an unknown key with the list of keys allowed there. Conversion
//! carries on after an error so one pass reports every problem; a node that
//! cannot be built is left out of the model (the load fails anyway).
//!
//! A `<+input>` placeholder still present (loading without inputs) is
//! accepted wherever a scalar is: string fields keep it as their text, other
//! fields take a neutral value (no timeout, `false`, the default shell) that
//! only validation ever sees.

use std::time::Duration;

use rampart_core::Location;

use crate::Diagnostic;
use crate::duration::{DURATION_HELP, parse_duration};
use crate::expr::Template;
use crate::inputs::parse_placeholder;
use crate::known::{self, Keys};
use crate::model::*;
use crate::yaml::{Entry, Node, Scalar, Style, Value};

/// Byte `offset` inside a scalar whose text starts at `start` → its position.
/// Exact for single-line scalars and literal blocks; approximate for folded
/// and escaped text.
pub(crate) fn locate(start: Location, raw: &str, offset: usize) -> Location {
    let Some(before) = raw.get(..offset) else {
        return start;
    };
    let count = |s: &str| u32::try_from(s.chars().count()).unwrap_or(u32::MAX);
    match before.rfind('\n') {
        None => Location::new(start.line, start.col.saturating_add(count(before))),
        Some(nl) => Location::new(
            start
                .line
                .saturating_add(count(&before.replace(|c| c != '\n', ""))),
            start.col.saturating_add(count(&before[nl + 1..])),
        ),
    }
}

/// True when `id` follows Harness's identifier rule `^[a-zA-Z_][0-9a-zA-Z_$]{0,127}$`.
pub(crate) fn valid_identifier(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && id.len() <= 128
}

const IDENTIFIER_HELP: &str = "an identifier starts with a letter or _, followed by letters, digits, _ or $ (at most 128 characters)";

/// Harness's rule for variable names: `^[a-zA-Z_][0-9a-zA-Z_.$-]{0,127}$`.
fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | '-'))
        && name.len() <= 128
}

/// What [`Converter::node_header`] reads for every stage, step group and step.
struct NodeHeader {
    identifier: Option<String>,
    name: String,
    description: Option<String>,
    when: Option<When>,
    failure_strategies: Vec<FailureStrategy>,
    strategy: Option<Strategy>,
    timeout: Option<Timeout>,
}

/// A mapping being read, with the location of the node it came from.
#[derive(Clone, Copy)]
struct Obj<'n> {
    entries: &'n [Entry],
    loc: Location,
}

impl<'n> Obj<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }
    fn entry(&self, key: &str) -> Option<&'n Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
    /// The location of `key` when present, else of the mapping.
    fn key_loc(&self, key: &str) -> Location {
        self.entry(key).map_or(self.loc, |e| e.key_loc)
    }
}

fn is_placeholder(node: &Node) -> bool {
    node.as_scalar()
        .is_some_and(|s| parse_placeholder(&s.text).is_some())
}

/// Converts documents' `pipeline:` nodes, collecting diagnostics.
pub(crate) struct Converter {
    pub diags: Vec<Diagnostic>,
    /// Whether runtime inputs were given (then `required` variables need values).
    pub with_inputs: bool,
}

impl Converter {
    fn err(&mut self, loc: Location, message: impl Into<String>, help: impl Into<Option<String>>) {
        self.diags.push(Diagnostic {
            loc,
            message: message.into(),
            help: help.into(),
        });
    }

    /// Reads `node` as a mapping with `keys`, reporting every key not allowed.
    /// An empty value reads as an empty mapping; a runtime-input placeholder
    /// and anything that is not a mapping give `None`.
    fn object<'n>(&mut self, node: &'n Node, keys: &Keys) -> Option<Obj<'n>> {
        match &node.value {
            Value::Map(entries) => {
                self.check_keys(entries, keys);
                Some(Obj {
                    entries,
                    loc: node.loc,
                })
            }
            Value::Scalar(s) if s.is_null() => Some(Obj {
                entries: &[],
                loc: node.loc,
            }),
            _ if is_placeholder(node) => None,
            _ => {
                self.err(
                    node.loc,
                    format!("{} must be a mapping, found {}", keys.what, node.kind()),
                    Some(format!("keys allowed here: {}", keys.supported.join(", "))),
                );
                None
            }
        }
    }

    fn check_keys(&mut self, entries: &[Entry], keys: &Keys) {
        for e in entries {
            let key = e.key.as_str();
            if keys.supported.contains(&key) {
                continue;
            }
            if let Some((_, help)) = keys.unsupported.iter().find(|(k, _)| *k == key) {
                self.err(
                    e.key_loc,
                    format!("\"{key}\" is not supported in {}", keys.what),
                    Some((*help).to_string()),
                );
            } else if key == "<<" {
                self.err(
                    e.key_loc,
                    "YAML merge keys (\"<<\") are not supported",
                    Some(
                        "write the keys out, or put an anchor on the whole value and alias it"
                            .to_string(),
                    ),
                );
            } else {
                let hint = known::suggest(key, keys.supported)
                    .map(|s| format!("did you mean \"{s}\"? "))
                    .unwrap_or_default();
                self.err(
                    e.key_loc,
                    format!("unknown key \"{key}\" in {}", keys.what),
                    Some(format!(
                        "{hint}keys allowed here: {}",
                        keys.supported.join(", ")
                    )),
                );
            }
        }
    }

    /// `node` unless it is empty (`key:` with no value), which is reported.
    fn required<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n Node> {
        if node.is_null() {
            self.err(node.loc, format!("\"{field}\" is empty"), None);
            return None;
        }
        Some(node)
    }

    /// The scalar at `node`, or an error naming `field`; `None` for an empty value.
    fn scalar<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n Scalar> {
        match &node.value {
            Value::Scalar(s) if s.is_null() => None,
            Value::Scalar(s) => Some(s),
            _ => {
                self.err(
                    node.loc,
                    format!("\"{field}\" must be a single value, found {}", node.kind()),
                    None,
                );
                None
            }
        }
    }

    /// A plain string field (no expressions), with its location.
    fn string(&mut self, node: Option<&Node>, field: &str) -> Option<(String, Location)> {
        let node = node?;
        self.scalar(node, field)
            .map(|s| (s.text.clone(), s.content))
    }

    /// A string field that may hold `<+...>` expressions.
    fn text(&mut self, node: Option<&Node>, field: &str) -> Option<Text> {
        let node = node?;
        let s = self.scalar(node, field)?;
        Some(self.make_text(s.text.clone(), s.content, field))
    }

    /// Like [`text`](Self::text), but an empty value is an empty string.
    fn text_or_empty(&mut self, node: &Node, field: &str) -> Option<Text> {
        match &node.value {
            Value::Scalar(s) if s.is_null() => Some(self.make_text(String::new(), node.loc, field)),
            _ => self.text(Some(node), field),
        }
    }

    fn make_text(&mut self, raw: String, loc: Location, field: &str) -> Text {
        let template = if parse_placeholder(&raw).is_some() {
            Template::parse(&raw).ok()
        } else {
            match Template::parse(&raw) {
                Ok(t) => Some(t),
                Err(e) => {
                    self.err(
                        locate(loc, &raw, e.offset),
                        format!("invalid expression in \"{field}\": {}", e.message),
                        None,
                    );
                    None
                }
            }
        };
        Text { raw, loc, template }
    }

    fn boolean(&mut self, node: Option<&Node>, field: &str) -> Option<bool> {
        let node = node?;
        if is_placeholder(node) {
            return None;
        }
        let s = self.scalar(node, field)?;
        match s.text.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            other => {
                self.err(
                    s.content,
                    format!("\"{field}\" must be true or false, found \"{other}\""),
                    None,
                );
                None
            }
        }
    }

    fn count(&mut self, node: Option<&Node>, field: &str, min: u32) -> Option<u32> {
        let node = node?;
        if is_placeholder(node) {
            return None;
        }
        let s = self.scalar(node, field)?;
        match s.text.trim().parse::<u32>() {
            Ok(n) if n >= min => Some(n),
            _ => {
                let what = if s.text.contains("<+") {
                    format!(
                        "\"{field}\" must be a whole number; expressions are not supported here"
                    )
                } else {
                    format!(
                        "\"{field}\" must be a whole number of at least {min}, found \"{}\"",
                        s.text
                    )
                };
                self.err(s.content, what, None);
                None
            }
        }
    }

    /// One of `options` (exact spelling); a case slip gets a suggestion.
    fn choice<'o>(
        &mut self,
        node: Option<&Node>,
        field: &str,
        options: &[&'o str],
    ) -> Option<&'o str> {
        let node = node?;
        if is_placeholder(node) {
            return None;
        }
        let s = self.scalar(node, field)?;
        if let Some(found) = options.iter().find(|o| **o == s.text) {
            return Some(found);
        }
        let hint = known::suggest(&s.text, options)
            .map(|o| format!("did you mean \"{o}\"? "))
            .unwrap_or_default();
        self.err(
            s.content,
            format!("\"{}\" is not a valid {field}", s.text),
            Some(format!(
                "{hint}{field} must be one of: {}",
                options.join(", ")
            )),
        );
        None
    }

    fn timeout(&mut self, node: Option<&Node>) -> Option<Timeout> {
        let node = node?;
        if is_placeholder(node) {
            return None;
        }
        let s = self.scalar(node, "timeout")?;
        if s.text.trim().is_empty() {
            // Harness writes `timeout: ""` for "no timeout".
            return None;
        }
        self.duration(s, "timeout", true).map(|duration| Timeout {
            duration,
            raw: s.text.clone(),
            loc: s.content,
        })
    }

    fn duration(&mut self, s: &Scalar, field: &str, nonzero: bool) -> Option<Duration> {
        if s.text.contains("<+") {
            self.err(
                s.content,
                format!("\"{field}\" must be a fixed duration; expressions are not supported here"),
                Some(DURATION_HELP.to_string()),
            );
            return None;
        }
        match parse_duration(&s.text) {
            Ok(d) if nonzero && d.is_zero() => {
                self.err(
                    s.content,
                    format!("{field} \"{}\" must be longer than zero", s.text),
                    Some(DURATION_HELP.to_string()),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.err(
                    s.content,
                    format!("{field} \"{}\" is not a valid duration: {e}", s.text),
                    Some(DURATION_HELP.to_string()),
                );
                None
            }
        }
    }

    /// A list field; an empty value is an empty list; a placeholder is `None`.
    fn list<'n>(&mut self, node: Option<&'n Node>, field: &str) -> Option<&'n [Node]> {
        let node = node?;
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Scalar(s) if s.is_null() => Some(&[]),
            _ if is_placeholder(node) => None,
            _ => {
                self.err(
                    node.loc,
                    format!("\"{field}\" must be a list, found {}", node.kind()),
                    None,
                );
                None
            }
        }
    }

    fn identifier(&mut self, obj: &Obj<'_>, what: &str) -> Option<String> {
        let Some(node) = obj.get("identifier") else {
            self.err(
                obj.loc,
                format!("{what} has no identifier"),
                Some(format!("add `identifier:`; {IDENTIFIER_HELP}")),
            );
            return None;
        };
        let node = self.required(node, "identifier")?;
        let (id, loc) = self.string(Some(node), "identifier")?;
        if !valid_identifier(&id) {
            let message = if parse_placeholder(&id).is_some() {
                "an identifier cannot be a runtime input".to_string()
            } else {
                format!("identifier \"{id}\" is not valid")
            };
            self.err(loc, message, Some(IDENTIFIER_HELP.to_string()));
            return None;
        }
        Some(id)
    }

    fn name(&mut self, obj: &Obj<'_>, identifier: &str) -> String {
        self.string(obj.get("name"), "name")
            .map_or_else(|| identifier.to_string(), |(n, _)| n)
    }

    fn description(&mut self, obj: &Obj<'_>) -> Option<String> {
        self.string(obj.get("description"), "description")
            .map(|(d, _)| d)
    }

    /// `tags:` is metadata, but must be a mapping.
    fn tags(&mut self, obj: &Obj<'_>) {
        if let Some(node) = obj.get("tags")
            && node.as_map().is_none()
            && !node.is_null()
            && !is_placeholder(node)
        {
            self.err(
                node.loc,
                format!("\"tags\" must be a mapping, found {}", node.kind()),
                None,
            );
        }
    }

    // ---- pipeline -------------------------------------------------------

    /// `node` is the value of the `pipeline:` key at `key_loc`.
    pub fn pipeline(&mut self, node: &Node, key_loc: Location) -> Option<Pipeline> {
        if looks_like_v1(node) {
            self.err(
                key_loc,
                "this pipeline is written in Harness's v1 YAML, which is not supported",
                Some(
                    "Rampart reads Harness v0 pipelines: pipeline.identifier, then stages: - stage: {identifier, type: CI, spec: {execution: {steps: [...]}}}"
                        .to_string(),
                ),
            );
            return None;
        }
        if let Some(t) = node
            .as_map()
            .and_then(|m| m.iter().find(|e| e.key == "template"))
        {
            self.err(
                t.key_loc,
                "pipeline templates are not supported",
                Some("paste the template's content in place of the reference".to_string()),
            );
            return None;
        }
        let Some(obj) = self.object(node, &known::PIPELINE) else {
            if is_placeholder(node) {
                self.err(
                    node.loc,
                    "the whole pipeline cannot be a runtime input",
                    None,
                );
            }
            return None;
        };
        let obj = Obj {
            loc: key_loc,
            ..obj
        };
        let identifier = self.identifier(&obj, "the pipeline");
        let name = identifier
            .as_deref()
            .map(|id| self.name(&obj, id))
            .unwrap_or_default();
        self.description(&obj);
        self.tags(&obj);
        self.boolean(obj.get("allowStageExecutions"), "allowStageExecutions");
        self.boolean(obj.get("fixedInputsOnRerun"), "fixedInputsOnRerun");
        // Harness's exports carry the account; a local run has no account to check it against.
        self.string(obj.get("accountIdentifier"), "accountIdentifier");
        let org_identifier = self
            .string(obj.get("orgIdentifier"), "orgIdentifier")
            .map(|s| s.0);
        let project_identifier = self
            .string(obj.get("projectIdentifier"), "projectIdentifier")
            .map(|s| s.0);
        let codebase = obj.get("properties").and_then(|p| self.properties(p));
        let variables = self.variables(obj.get("variables"));
        let timeout = self.timeout(obj.get("timeout"));
        let stages = match obj.get("stages") {
            None => {
                self.err(
                    key_loc,
                    "the pipeline has no stages",
                    Some("add `stages:` with at least one CI stage".to_string()),
                );
                Vec::new()
            }
            Some(node) => self.stage_entries(node),
        };
        Some(Pipeline {
            identifier: identifier?,
            name,
            loc: key_loc,
            org_identifier,
            project_identifier,
            codebase,
            variables,
            stages,
            timeout,
        })
    }

    fn properties(&mut self, node: &Node) -> Option<Codebase> {
        let props = self.object(node, &known::PROPERTIES)?;
        let ci = self.object(props.get("ci")?, &known::PROPERTIES_CI)?;
        let codebase_node = ci.get("codebase")?;
        let cb = self.object(codebase_node, &known::CODEBASE)?;
        let connector_ref = self.text(cb.get("connectorRef"), "connectorRef");
        let repo_name = self.text(cb.get("repoName"), "repoName");
        let clone_depth = self.count(cb.get("depth"), "depth", 0);
        let build = cb.get("build").and_then(|b| self.codebase_build(b));
        Some(Codebase {
            connector_ref,
            repo_name,
            build,
            clone_depth,
            loc: codebase_node.loc,
        })
    }

    fn codebase_build(&mut self, node: &Node) -> Option<CodebaseBuild> {
        if node.is_null() || node.as_scalar().is_some_and(|s| s.text.is_empty()) {
            return None;
        }
        let obj = self.object(node, &known::CODEBASE_BUILD)?;
        let kind = match obj.get("type") {
            Some(t) => {
                let t = self.required(t, "type")?;
                self.choice(
                    Some(t),
                    "codebase build type",
                    &["branch", "tag", "PR", "commitSha"],
                )?
            }
            None => {
                self.err(
                    obj.loc,
                    "the codebase build has no type",
                    Some(
                        "codebase build type must be one of: branch, tag, PR, commitSha"
                            .to_string(),
                    ),
                );
                return None;
            }
        };
        let field = match kind {
            "branch" => "branch",
            "tag" => "tag",
            "PR" => "number",
            _ => "commitSha",
        };
        let spec_keys = Keys {
            what: "the codebase build spec",
            supported: &[],
            unsupported: &[],
        };
        let spec_node = obj.get("spec");
        let spec = match spec_node {
            Some(s) => match s.as_map() {
                Some(entries) => Obj {
                    entries,
                    loc: s.loc,
                },
                None => self.object(s, &spec_keys)?,
            },
            None => Obj {
                entries: &[],
                loc: obj.loc,
            },
        };
        let mut unknown = false;
        for e in spec.entries {
            if e.key != field {
                unknown = true;
                self.err(
                    e.key_loc,
                    format!("unknown key \"{}\" in a {kind} build spec", e.key),
                    Some(format!("a {kind} build spec has one key: {field}")),
                );
            }
        }
        let Some(value) = self.text(spec.get(field), field) else {
            if unknown || spec.get(field).is_some() {
                return None;
            }
            self.err(
                spec.loc,
                format!("the {kind} build spec has no \"{field}\""),
                Some(format!("write spec: {{{field}: ...}}")),
            );
            return None;
        };
        Some(match kind {
            "branch" => CodebaseBuild::Branch(value),
            "tag" => CodebaseBuild::Tag(value),
            "PR" => CodebaseBuild::PullRequest(value),
            _ => CodebaseBuild::CommitSha(value),
        })
    }

    fn variables(&mut self, node: Option<&Node>) -> Vec<Variable> {
        let Some(items) = self.list(node, "variables") else {
            return Vec::new();
        };
        let mut out: Vec<Variable> = Vec::new();
        for item in items {
            let Some(v) = self.variable(item) else {
                continue;
            };
            if let Some(first) = out.iter().find(|o| o.name == v.name) {
                let first = first.loc;
                self.err(
                    v.loc,
                    format!("duplicate variable \"{}\"", v.name),
                    Some(format!("\"{}\" is already declared at {first}", v.name)),
                );
                continue;
            }
            out.push(v);
        }
        out
    }

    fn variable(&mut self, node: &Node) -> Option<Variable> {
        let obj = self.object(node, &known::VARIABLE)?;
        let Some((name, name_loc)) = self.string(obj.get("name"), "name") else {
            self.err(obj.loc, "variable has no name", None);
            return None;
        };
        if !valid_variable_name(&name) {
            self.err(
                name_loc,
                format!("variable name \"{name}\" is not valid"),
                Some("a variable name starts with a letter or _, followed by letters, digits, _, ., $ or -".to_string()),
            );
        }
        let kind = match obj.get("type") {
            None => {
                self.err(
                    obj.loc,
                    format!("variable \"{name}\" has no type"),
                    Some("add `type:` String, Number or Secret".to_string()),
                );
                None
            }
            Some(t) => match self.required(t, "type").and_then(|t| {
                self.choice(Some(t), "variable type", &["String", "Number", "Secret"])
            }) {
                Some("Number") => Some(VariableKind::Number),
                Some("Secret") => Some(VariableKind::Secret),
                Some(_) => Some(VariableKind::String),
                None => None,
            },
        };
        let value = match obj.get("value") {
            None => {
                self.err(
                    obj.loc,
                    format!("variable \"{name}\" has no value"),
                    Some(
                        "add `value:`; use `value: <+input>` to ask for it at run time".to_string(),
                    ),
                );
                None
            }
            Some(v) => self.text_or_empty(v, "value"),
        };
        let description = self.description(&obj);
        let required = self
            .boolean(obj.get("required"), "required")
            .unwrap_or(false);
        self.string(obj.get("default"), "default");
        let value = value?;
        if required && self.with_inputs && value.raw.is_empty() {
            self.err(
                value.loc,
                format!("variable \"{name}\" is required but has no value"),
                Some(format!("pass --input {name}=VALUE")),
            );
        }
        Some(Variable {
            name,
            kind: kind?,
            value,
            description,
            required,
            loc: obj.loc,
        })
    }

    // ---- stages ---------------------------------------------------------

    fn stage_entries(&mut self, node: &Node) -> Vec<StageNode> {
        let Some(items) = self.list(Some(node), "stages") else {
            return Vec::new();
        };
        if items.is_empty() {
            self.err(
                node.loc,
                "the pipeline has no stages",
                Some("add at least one CI stage".to_string()),
            );
        }
        let mut out = Vec::new();
        for item in items {
            let Some(entry) = self.object(item, &known::STAGE_ENTRY) else {
                continue;
            };
            match (entry.entry("stage"), entry.entry("parallel")) {
                (Some(stage), None) => {
                    if let Some(s) = self.stage(&stage.value, stage.key_loc) {
                        out.push(StageNode::Stage(s));
                    }
                }
                (None, Some(par)) => {
                    let Some(inner) = self.list(Some(&par.value), "parallel") else {
                        continue;
                    };
                    let mut stages = Vec::new();
                    for p in inner {
                        let Some(e) = self.object(p, &known::STAGE_ENTRY) else {
                            continue;
                        };
                        if let Some(nested) = e.entry("parallel") {
                            self.err(
                                nested.key_loc,
                                "parallel stage groups cannot be nested",
                                Some("list the stages directly under one parallel".to_string()),
                            );
                        } else if let Some(stage) = e.entry("stage")
                            && let Some(s) = self.stage(&stage.value, stage.key_loc)
                        {
                            stages.push(s);
                        }
                    }
                    out.push(StageNode::Parallel {
                        stages,
                        loc: par.key_loc,
                    });
                }
                (Some(_), Some(par)) => self.err(
                    par.key_loc,
                    "a stages entry holds either stage or parallel, not both",
                    None,
                ),
                (None, None) => self.empty_entry(
                    &entry,
                    &known::STAGE_ENTRY,
                    "stages entry",
                    "write `- stage:` or `- parallel:`",
                ),
            }
        }
        out
    }

    /// The keys stages, step groups and steps share. `pipeline_status`: the
    /// node's `when` takes `pipelineStatus` (a stage), else `stageStatus`.
    fn node_header(&mut self, obj: &Obj<'_>, what: &str, pipeline_status: bool) -> NodeHeader {
        let identifier = self.identifier(obj, what);
        let name = self.name(obj, identifier.as_deref().unwrap_or_default());
        NodeHeader {
            description: self.description(obj),
            when: obj.get("when").and_then(|w| self.when(w, pipeline_status)),
            failure_strategies: self.failure_strategies(obj.get("failureStrategies")),
            strategy: obj.get("strategy").and_then(|s| self.strategy(s)),
            timeout: self.timeout(obj.get("timeout")),
            identifier,
            name,
        }
    }

    /// Reports a list entry that holds none of the keys it needs (keys it
    /// should not hold were reported already, so they are not "empty").
    fn empty_entry(&mut self, entry: &Obj<'_>, keys: &Keys, what: &str, help: &str) {
        if entry
            .entries
            .iter()
            .all(|e| keys.supported.contains(&e.key.as_str()))
        {
            self.err(entry.loc, format!("empty {what}"), Some(help.to_string()));
        }
    }

    /// The mapping of a `stage:` or `step:` entry, or `None` once it has been
    /// reported as empty, not a mapping, or a template reference.
    fn entry_object<'n>(
        &mut self,
        node: &'n Node,
        key_loc: Location,
        keys: &Keys,
        what: &str,
        needs: &str,
    ) -> Option<Obj<'n>> {
        let Some(map) = node.as_map() else {
            if node.is_null() {
                self.err(
                    key_loc,
                    format!("{what} is empty"),
                    Some(format!("add {needs}")),
                );
            } else {
                self.object(node, keys);
            }
            return None;
        };
        let raw = Obj {
            entries: map,
            loc: key_loc,
        };
        if let Some(t) = raw.entry("template") {
            self.err(
                t.key_loc,
                format!("{what} templates are not supported"),
                Some(format!(
                    "paste the template's {what} in place of the reference"
                )),
            );
            return None;
        }
        Some(raw)
    }

    fn stage(&mut self, node: &Node, key_loc: Location) -> Option<Stage> {
        let raw = self.entry_object(
            node,
            key_loc,
            &known::STAGE,
            "stage",
            "identifier, type: CI and spec",
        )?;
        match raw.get("type") {
            None => {
                self.err(
                    key_loc,
                    "stage has no type",
                    Some("add `type: CI`; Rampart runs CI stages".to_string()),
                );
                return None;
            }
            Some(t) => {
                let t = self.required(t, "type")?;
                let (ty, loc) = self.string(Some(t), "type")?;
                if ty != "CI" {
                    let (message, hint) = if known::HARNESS_STAGE_TYPES.contains(&ty.as_str()) {
                        (
                            format!("stage type \"{ty}\" is not supported"),
                            String::new(),
                        )
                    } else {
                        (
                            format!("unknown stage type \"{ty}\""),
                            known::suggest(&ty, known::SUPPORTED_STAGE_TYPES)
                                .map(|s| format!("did you mean \"{s}\"? "))
                                .unwrap_or_default(),
                        )
                    };
                    self.err(
                        loc,
                        message,
                        Some(format!(
                            "{hint}supported stage types: {}",
                            known::SUPPORTED_STAGE_TYPES.join(", ")
                        )),
                    );
                    return None;
                }
            }
        }
        let obj = Obj {
            loc: key_loc,
            ..self.object(node, &known::STAGE)?
        };
        let NodeHeader {
            identifier,
            name,
            description,
            when,
            failure_strategies,
            strategy,
            timeout,
        } = self.node_header(&obj, "stage", true);
        self.tags(&obj);
        let variables = self.variables(obj.get("variables"));
        let mut clone_codebase = false;
        let mut shared_paths = Vec::new();
        let mut steps = Vec::new();
        match obj.get("spec") {
            None => self.err(
                key_loc,
                "stage has no spec",
                Some("add spec.execution.steps".to_string()),
            ),
            Some(spec_node) => {
                if let Some(spec) = self.object(spec_node, &known::CI_STAGE_SPEC) {
                    clone_codebase = self
                        .boolean(spec.get("cloneCodebase"), "cloneCodebase")
                        .unwrap_or(false);
                    shared_paths = self.shared_paths(spec.get("sharedPaths"));
                    self.stage_metadata(&spec);
                    match spec.get("execution") {
                        None => self.err(
                            obj.key_loc("spec"),
                            "stage spec has no execution",
                            Some("add execution.steps".to_string()),
                        ),
                        Some(exec_node) => {
                            if let Some(exec) = self.object(exec_node, &known::EXECUTION) {
                                match exec.get("steps") {
                                    None => self.err(
                                        exec.loc,
                                        "execution has no steps",
                                        Some("add `steps:` with at least one step".to_string()),
                                    ),
                                    Some(s) => steps = self.step_entries(s),
                                }
                            }
                        }
                    }
                }
            }
        }
        Some(Stage {
            identifier: identifier?,
            name,
            description,
            loc: key_loc,
            when,
            failure_strategies,
            variables,
            strategy,
            timeout,
            clone_codebase,
            shared_paths,
            steps,
        })
    }

    fn shared_paths(&mut self, node: Option<&Node>) -> Vec<Text> {
        let Some(node) = node else {
            return Vec::new();
        };
        if node.as_scalar().is_some() {
            return self.text(Some(node), "sharedPaths").into_iter().collect();
        }
        let items = self.list(Some(node), "sharedPaths").unwrap_or_default();
        items
            .iter()
            .filter_map(|i| self.text(Some(i), "sharedPaths"))
            .collect()
    }

    /// `platform`, `runtime`, `infrastructure`, `caching`, `buildIntelligence`:
    /// accepted as metadata when they ask for nothing Rampart would ignore.
    fn stage_metadata(&mut self, spec: &Obj<'_>) {
        if let Some(p) = spec.get("platform") {
            self.object(p, &known::PLATFORM);
        }
        if let Some(r) = spec
            .get("runtime")
            .and_then(|r| self.object(r, &known::RUNTIME))
            && let Some(t) = r.get("type")
        {
            self.metadata_type(t, "runtime", known::RUNTIME_TYPES);
        }
        if let Some(i) = spec
            .get("infrastructure")
            .and_then(|i| self.object(i, &known::INFRASTRUCTURE))
            && let Some(t) = i.get("type")
        {
            self.metadata_type(t, "infrastructure", known::INFRASTRUCTURE_TYPES);
        }
        for (key, what) in [
            ("caching", "caching"),
            ("buildIntelligence", "build intelligence"),
        ] {
            let Some(node) = spec.get(key) else { continue };
            let Some(toggle) = self.object(node, &known::TOGGLE) else {
                continue;
            };
            if self.boolean(toggle.get("enabled"), "enabled") != Some(false) {
                self.err(
                    spec.key_loc(key),
                    format!("{what} is not supported yet"),
                    Some(format!("set `{key}: {{enabled: false}}` or remove {key}")),
                );
            }
        }
    }

    fn metadata_type(&mut self, node: &Node, what: &str, accepted: &[&str]) {
        if is_placeholder(node) {
            return;
        }
        let Some(s) = self.scalar(node, "type") else {
            return;
        };
        if !accepted.contains(&s.text.as_str()) {
            self.err(
                s.content,
                format!("{what} type \"{}\" is not supported", s.text),
                Some(format!(
                    "Rampart runs steps on its own executor; accepted (and ignored) {what} types: {}",
                    accepted.join(", ")
                )),
            );
        }
    }

    // ---- steps ----------------------------------------------------------

    fn step_entries(&mut self, node: &Node) -> Vec<StepNode> {
        let Some(items) = self.list(Some(node), "steps") else {
            return Vec::new();
        };
        if items.is_empty() {
            self.err(
                node.loc,
                "steps is empty",
                Some("add at least one step".to_string()),
            );
        }
        items.iter().filter_map(|i| self.step_entry(i)).collect()
    }

    fn step_entry(&mut self, item: &Node) -> Option<StepNode> {
        let entry = self.object(item, &known::STEP_ENTRY)?;
        let present: Vec<&Entry> = ["step", "parallel", "stepGroup"]
            .iter()
            .filter_map(|k| entry.entry(k))
            .collect();
        match present.as_slice() {
            [] => {
                self.empty_entry(
                    &entry,
                    &known::STEP_ENTRY,
                    "steps entry",
                    "write `- step:`, `- parallel:` or `- stepGroup:`",
                );
                None
            }
            [one] => match one.key.as_str() {
                "step" => self.step(&one.value, one.key_loc).map(StepNode::Step),
                "stepGroup" => self
                    .step_group(&one.value, one.key_loc)
                    .map(StepNode::Group),
                _ => {
                    let inner = self.list(Some(&one.value), "parallel")?;
                    let nodes = inner.iter().filter_map(|i| self.step_entry(i)).collect();
                    Some(StepNode::Parallel {
                        nodes,
                        loc: one.key_loc,
                    })
                }
            },
            [_, second, ..] => {
                self.err(
                    second.key_loc,
                    "a steps entry holds one of step, parallel or stepGroup",
                    Some("split them into separate list entries".to_string()),
                );
                None
            }
        }
    }

    fn step_group(&mut self, node: &Node, key_loc: Location) -> Option<StepGroup> {
        if let Some(t) = node
            .as_map()
            .and_then(|m| m.iter().find(|e| e.key == "template"))
        {
            self.err(
                t.key_loc,
                "step group templates are not supported",
                Some("paste the template's steps in place of the reference".to_string()),
            );
            return None;
        }
        let obj = Obj {
            loc: key_loc,
            ..self.object(node, &known::STEP_GROUP)?
        };
        let NodeHeader {
            identifier,
            name,
            when,
            failure_strategies,
            strategy,
            timeout,
            ..
        } = self.node_header(&obj, "step group", false);
        let steps = match obj.get("steps") {
            Some(s) => self.step_entries(s),
            None => {
                self.err(
                    key_loc,
                    "step group has no steps",
                    Some("add `steps:`".to_string()),
                );
                Vec::new()
            }
        };
        Some(StepGroup {
            identifier: identifier?,
            name,
            loc: key_loc,
            when,
            failure_strategies,
            strategy,
            timeout,
            steps,
        })
    }

    fn step(&mut self, node: &Node, key_loc: Location) -> Option<Step> {
        let raw = self.entry_object(
            node,
            key_loc,
            &known::STEP,
            "step",
            "identifier, type and spec",
        )?;
        let supported = known::SUPPORTED_STEP_TYPES;
        let kind = match raw.get("type") {
            None => {
                self.err(
                    key_loc,
                    "step has no type",
                    Some(format!(
                        "add `type:`; supported step types: {}",
                        supported.join(", ")
                    )),
                );
                return None;
            }
            Some(t) => {
                let t = self.required(t, "type")?;
                let (ty, loc) = self.string(Some(t), "type")?;
                match ty.as_str() {
                    "Run" => StepKind::Run,
                    "Background" => StepKind::Background,
                    "Plugin" => StepKind::Plugin,
                    "SscaOrchestration" => StepKind::SbomOrchestration,
                    "provenance" => StepKind::Provenance,
                    "SscaArtifactSigning" => StepKind::ArtifactSigning,
                    "SlsaVerification" => StepKind::SlsaVerification,
                    "SscaArtifactVerification" => StepKind::ArtifactVerification,
                    "SscaEnforcement" => StepKind::SbomEnforcement,
                    other => {
                        let (message, hint) = if known::HARNESS_STEP_TYPES.contains(&other) {
                            (
                                format!("step type \"{other}\" is not supported"),
                                String::new(),
                            )
                        } else {
                            (
                                format!("unknown step type \"{other}\""),
                                known::suggest(other, supported)
                                    .map(|s| format!("did you mean \"{s}\"? "))
                                    .unwrap_or_default(),
                            )
                        };
                        self.err(
                            loc,
                            message,
                            Some(format!(
                                "{hint}supported step types: {}",
                                supported.join(", ")
                            )),
                        );
                        return None;
                    }
                }
            }
        };
        let obj = Obj {
            loc: key_loc,
            ..self.object(node, &known::STEP)?
        };
        let NodeHeader {
            identifier,
            name,
            when,
            failure_strategies,
            strategy,
            timeout,
            ..
        } = self.node_header(&obj, "step", false);
        let what = match kind {
            StepKind::Run => "Run",
            StepKind::Background => "Background",
            StepKind::Plugin => "Plugin",
            _ => {
                let supply = self.supply_step(&obj, kind, key_loc)?;
                return Some(Step {
                    identifier: identifier?,
                    name,
                    loc: key_loc,
                    kind,
                    when,
                    failure_strategies,
                    strategy,
                    timeout,
                    spec: StepSpec::default(),
                    supply,
                });
            }
        };
        let spec = match obj.get("spec") {
            None => {
                self.err(
                    key_loc,
                    format!("{what} step has no spec"),
                    Some(match kind {
                        StepKind::Plugin => "add spec.image".to_string(),
                        _ => "add spec.command".to_string(),
                    }),
                );
                None
            }
            Some(s) if is_placeholder(s) => Some(StepSpec::default()),
            Some(s) => self.step_spec(s, kind),
        };
        let spec = spec?;
        let spec_has = |key: &str| {
            obj.get("spec").is_some_and(is_placeholder)
                || obj
                    .get("spec")
                    .and_then(|s| s.get(key))
                    .is_some_and(|v| !v.is_null())
        };
        let id_for_msg = obj
            .get("identifier")
            .and_then(Node::as_scalar)
            .map_or("?", |s| s.text.as_str());
        match kind {
            StepKind::Run if !spec_has("command") => self.err(
                key_loc,
                format!("Run step \"{id_for_msg}\" has no command"),
                Some("add spec.command".to_string()),
            ),
            StepKind::Background
                if !["command", "entrypoint", "image"]
                    .iter()
                    .any(|k| spec_has(k)) =>
            {
                self.err(
                    key_loc,
                    format!("Background step \"{id_for_msg}\" has nothing to run"),
                    Some("add spec.command, spec.entrypoint or spec.image".to_string()),
                );
            }
            StepKind::Plugin if !spec_has("image") && !spec_has("uses") => self.err(
                key_loc,
                format!("Plugin step \"{id_for_msg}\" has no image"),
                Some("add spec.image (or spec.uses)".to_string()),
            ),
            _ => {}
        }
        Some(Step {
            identifier: identifier?,
            name,
            loc: key_loc,
            kind,
            when,
            failure_strategies,
            strategy,
            timeout,
            spec,
            supply: None,
        })
    }

    /// A supply-chain step's spec; `Some(None)` when it is a runtime input.
    fn supply_step(
        &mut self,
        obj: &Obj<'_>,
        kind: StepKind,
        key_loc: Location,
    ) -> Option<Option<SupplySpec>> {
        let Some(node) = obj.get("spec") else {
            self.err(
                key_loc,
                "step has no spec",
                Some("add spec.source".to_string()),
            );
            return None;
        };
        if is_placeholder(node) {
            return Some(None);
        }
        let keys = match kind {
            StepKind::SbomOrchestration => &known::ORCHESTRATION_SPEC,
            StepKind::Provenance => &known::PROVENANCE_SPEC,
            StepKind::ArtifactSigning => &known::SIGNING_SPEC,
            StepKind::SlsaVerification => &known::SLSA_VERIFICATION_SPEC,
            StepKind::ArtifactVerification => &known::ARTIFACT_VERIFICATION_SPEC,
            _ => &known::ENFORCEMENT_SPEC,
        };
        let spec = self.object(node, keys)?;
        self.choice(
            spec.get("imagePullPolicy"),
            "imagePullPolicy",
            &["Always", "Never", "IfNotPresent"],
        );
        let source = match spec.get("source") {
            Some(s) => self.supply_source(s, kind),
            None => {
                self.err(
                    spec.loc,
                    format!("{} has no source", keys.what),
                    Some("add source (type local with spec.workspace)".to_string()),
                );
                None
            }
        };
        let (mut sbom_format, mut ingestion) = (None, None);
        if kind == StepKind::SbomOrchestration {
            let mode = self.choice(spec.get("mode"), "mode", &["generation", "ingestion"]);
            if mode == Some("ingestion") {
                ingestion = self.ingestion(spec.get("ingestion"), spec.key_loc("mode"));
            } else {
                if spec.get("ingestion").is_some() {
                    self.err(
                        spec.key_loc("ingestion"),
                        "ingestion is only read with mode: ingestion",
                        Some("add mode: ingestion, or remove ingestion".to_string()),
                    );
                }
                sbom_format = spec.get("tool").and_then(|t| self.sbom_tool(t));
            }
        }
        let attestation = match kind {
            StepKind::ArtifactSigning => spec.get("signing"),
            _ => spec.get("attestation"),
        }
        .and_then(|a| self.private_key(a));
        let verify_key = match kind {
            StepKind::SbomEnforcement => spec.get("verifyAttestation").map(|v| (v, "publicKey")),
            StepKind::SlsaVerification => spec.get("verify_attestation").map(|v| (v, "public_key")),
            StepKind::ArtifactVerification => spec.get("verifySign").map(|v| (v, "public_key")),
            _ => None,
        }
        .and_then(|(v, field)| self.public_key(v, field));
        let policy = if kind == StepKind::SbomEnforcement {
            match spec.get("policy") {
                Some(p) => self.policy(p),
                None => {
                    self.err(
                        spec.loc,
                        "an SscaEnforcement step spec has no policy",
                        Some(
                            "add policy.store (type Harness, spec.file: the policy file)"
                                .to_string(),
                        ),
                    );
                    None
                }
            }
        } else {
            None
        };
        Some(Some(SupplySpec {
            source: source?,
            sbom_format,
            ingestion,
            attestation,
            verify_key,
            policy,
        }))
    }

    /// `source:`; only workspace files and repositories can be read.
    fn supply_source(&mut self, node: &Node, kind: StepKind) -> Option<ArtifactSource> {
        let obj = self.object(node, &known::SUPPLY_SOURCE)?;
        let Some(t) = obj.get("type") else {
            self.err(
                obj.loc,
                "source has no type",
                Some("add type: local".to_string()),
            );
            return None;
        };
        let (ty, ty_loc) = self.string(Some(t), "type")?;
        let spec = || obj.get("spec").filter(|n| !n.is_null());
        match ty.to_ascii_lowercase().as_str() {
            // SLSA verification writes `Local`; the other steps `local`.
            "local" => {
                let Some(spec_node) = spec() else {
                    self.err(
                        obj.loc,
                        "local source has no spec",
                        Some("add spec.workspace".to_string()),
                    );
                    return None;
                };
                let s = self.object(spec_node, &known::LOCAL_SOURCE)?;
                self.choice(s.get("type"), "type", &["manual", "auto"]);
                // Harness's SBOM steps default to the workspace root.
                let workspace = match s.get("workspace") {
                    Some(w) => self.text(Some(w), "workspace")?,
                    None => self.make_text(".".to_string(), s.loc, "workspace"),
                };
                Some(ArtifactSource::Local {
                    workspace,
                    artifact_name: self.text(s.get("artifact_name"), "artifact_name"),
                    version: self.text(s.get("version"), "version"),
                })
            }
            "repository"
                if kind == StepKind::SbomOrchestration || kind == StepKind::SbomEnforcement =>
            {
                let Some(spec_node) = spec() else {
                    self.err(
                        obj.loc,
                        "repository source has no spec",
                        Some("add spec.url".to_string()),
                    );
                    return None;
                };
                let s = self.object(spec_node, &known::REPOSITORY_SOURCE)?;
                let url = self.text(s.get("url"), "url");
                if s.get("url").is_none() {
                    self.err(
                        s.loc,
                        "repository source has no url",
                        Some("add url".to_string()),
                    );
                }
                if let Some(v) = s.get("variant_type") {
                    self.choice(Some(v), "variant_type", &["branch", "git_tag", "commit"]);
                }
                Some(ArtifactSource::Repository {
                    url: url?,
                    path: self.text(s.get("path"), "path"),
                    variant_type: self.text(s.get("variant_type"), "variant_type"),
                    variant: self.text(s.get("variant"), "variant"),
                    cloned_codebase: self.text(s.get("cloned_codebase"), "cloned_codebase"),
                })
            }
            "image" | "docker" | "ecr" | "gcr" | "acr" | "gar" | "har" => {
                self.err(
                    ty_loc,
                    format!("{ty} sources need a container registry client, which Rampart does not have yet; use a `local` source (a path in the workspace) or `repository`"),
                    None,
                );
                None
            }
            _ => {
                self.err(
                    ty_loc,
                    format!("\"{ty}\" is not a valid source type"),
                    Some("source type must be local or repository".to_string()),
                );
                None
            }
        }
    }

    /// Orchestration `tool:`: Syft's output format.
    fn sbom_tool(&mut self, node: &Node) -> Option<SbomFormat> {
        let tool = self.object(node, &known::SBOM_TOOL)?;
        self.choice(tool.get("type"), "tool type", &["Syft"]);
        let spec = self.object(tool.get("spec")?, &known::SBOM_TOOL_SPEC)?;
        match self.choice(
            spec.get("format"),
            "format",
            &["spdx-json", "cyclonedx-json"],
        )? {
            "cyclonedx-json" => Some(SbomFormat::CycloneDxJson),
            _ => Some(SbomFormat::SpdxJson),
        }
    }

    /// `ingestion: { file }` for `mode: ingestion`.
    fn ingestion(&mut self, node: Option<&Node>, mode_loc: Location) -> Option<Text> {
        let Some(node) = node else {
            self.err(
                mode_loc,
                "mode ingestion needs ingestion.file",
                Some("add ingestion: { file: path/to/sbom.json }".to_string()),
            );
            return None;
        };
        let obj = self.object(node, &known::INGESTION)?;
        if obj.get("file").is_none() {
            self.err(
                obj.loc,
                "ingestion has no file",
                Some("add file: the SBOM's path".to_string()),
            );
        }
        self.text(obj.get("file"), "file")
    }

    /// A key config's `spec`, after checking `type` is cosign (a key pair).
    fn key_spec<'n>(&mut self, node: &'n Node, keys: &Keys) -> Option<Obj<'n>> {
        let obj = self.object(node, &known::KEY_CONFIG)?;
        if let Some(t) = obj.get("type")
            && let Some((ty, loc)) = self.string(Some(t), "type")
            && ty != "cosign"
            && ty != "keybased"
        {
            self.err(
                loc,
                format!("{ty} keys are not supported"),
                Some("use type: cosign with a key pair".to_string()),
            );
            return None;
        }
        let Some(spec) = obj.get("spec") else {
            self.err(
                obj.loc,
                "key has no spec",
                Some(format!("add spec with {}", keys.supported[0])),
            );
            return None;
        };
        self.object(spec, keys)
    }

    fn private_key(&mut self, node: &Node) -> Option<Attestation> {
        let spec = self.key_spec(node, &known::COSIGN_PRIVATE)?;
        if spec.get("privateKey").is_none() {
            self.err(
                spec.loc,
                "key spec has no privateKey",
                Some("add privateKey: a secret holding the cosign private key".to_string()),
            );
        }
        Some(Attestation {
            private_key: self.text(spec.get("privateKey"), "privateKey")?,
            password: self.text(spec.get("password"), "password"),
        })
    }

    fn public_key(&mut self, node: &Node, field: &'static str) -> Option<VerifyKey> {
        let keys = Keys {
            what: "a cosign public key spec",
            supported: if field == "publicKey" {
                &["publicKey"]
            } else {
                &["public_key"]
            },
            unsupported: &[],
        };
        let spec = self.key_spec(node, &keys)?;
        if spec.get(field).is_none() {
            self.err(
                spec.loc,
                format!("key spec has no {field}"),
                Some(format!("add {field}: the cosign public key")),
            );
        }
        Some(VerifyKey {
            public_key: self.text(spec.get(field), field)?,
        })
    }

    /// Enforcement `policy: { store: { type: Harness, spec: { file } } }`.
    fn policy(&mut self, node: &Node) -> Option<PolicyRef> {
        let obj = self.object(node, &known::ENFORCEMENT_POLICY)?;
        let Some(store) = obj.get("store") else {
            if obj.get("policySets").is_some() {
                // Already reported as unsupported.
                return None;
            }
            self.err(
                obj.loc,
                "policy has no store",
                Some("add store (type Harness, spec.file)".to_string()),
            );
            return None;
        };
        let store = self.object(store, &known::POLICY_STORE)?;
        self.choice(store.get("type"), "policy store type", &["Harness"]);
        let Some(spec) = store.get("spec") else {
            self.err(
                store.loc,
                "policy store has no spec",
                Some("add spec.file: the policy file's path".to_string()),
            );
            return None;
        };
        let spec = self.object(spec, &known::POLICY_FILE)?;
        if spec.get("file").is_none() {
            self.err(
                spec.loc,
                "policy store has no file",
                Some("add file: the policy file's path".to_string()),
            );
        }
        Some(PolicyRef {
            file: self.text(spec.get("file"), "file")?,
        })
    }

    fn step_spec(&mut self, node: &Node, kind: StepKind) -> Option<StepSpec> {
        let keys = match kind {
            StepKind::Run => &known::RUN_SPEC,
            StepKind::Background => &known::BACKGROUND_SPEC,
            _ => &known::PLUGIN_SPEC,
        };
        let obj = self.object(node, keys)?;
        let shell = match self.choice(
            obj.get("shell"),
            "shell",
            &["Sh", "Bash", "Python", "Powershell", "Pwsh"],
        ) {
            Some("Bash") => Shell::Bash,
            Some("Python") => Shell::Python,
            Some("Powershell") => Shell::Powershell,
            Some("Pwsh") => Shell::Pwsh,
            _ => Shell::Sh,
        };
        let network = match self.choice(obj.get("network"), "network", &["none", "host"]) {
            Some("none") => Some(NetworkMode::None),
            Some("host") => Some(NetworkMode::Host),
            _ => None,
        };
        self.boolean(obj.get("privileged"), "privileged");
        self.choice(
            obj.get("imagePullPolicy"),
            "imagePullPolicy",
            &["Always", "Never", "IfNotPresent"],
        );
        if let Some(r) = obj.get("resources") {
            self.object(
                r,
                &Keys {
                    what: "resources",
                    supported: &["limits", "requests"],
                    unsupported: &[],
                },
            );
        }
        self.string(obj.get("runAsUser"), "runAsUser");
        Some(StepSpec {
            command: self.text(obj.get("command"), "command"),
            shell,
            image: self.text(obj.get("image"), "image"),
            connector_ref: self.text(obj.get("connectorRef"), "connectorRef"),
            env_variables: self.string_map(obj.get("envVariables"), "envVariables"),
            output_variables: self.output_variables(obj.get("outputVariables")),
            settings: self.settings(obj.get("settings")),
            network,
            entrypoint: self.entrypoint(obj.get("entrypoint")),
            uses: self.text(obj.get("uses"), "uses"),
        })
    }

    /// `envVariables`: names to single values, in file order.
    fn string_map(&mut self, node: Option<&Node>, field: &str) -> Vec<(String, Text)> {
        let Some(node) = node else { return Vec::new() };
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Scalar(s) if s.is_null() => return Vec::new(),
            _ if is_placeholder(node) => return Vec::new(),
            _ => {
                self.err(
                    node.loc,
                    format!(
                        "\"{field}\" must be a mapping of names to values, found {}",
                        node.kind()
                    ),
                    None,
                );
                return Vec::new();
            }
        };
        entries
            .iter()
            .filter_map(|e| {
                let field = format!("{field}.{}", e.key);
                self.text_or_empty(&e.value, &field)
                    .map(|t| (e.key.clone(), t))
            })
            .collect()
    }

    /// Plugin `settings`: lists join with commas and mappings become JSON,
    /// as Drone plugins expect in their `PLUGIN_*` variables.
    fn settings(&mut self, node: Option<&Node>) -> Vec<(String, Text)> {
        let Some(node) = node else { return Vec::new() };
        let Some(entries) = node.as_map() else {
            if !node.is_null() && !is_placeholder(node) {
                self.err(
                    node.loc,
                    format!("\"settings\" must be a mapping, found {}", node.kind()),
                    None,
                );
            }
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|e| {
                let field = format!("settings.{}", e.key);
                let text = match &e.value.value {
                    Value::Scalar(_) => {
                        return self
                            .text_or_empty(&e.value, &field)
                            .map(|t| (e.key.clone(), t));
                    }
                    Value::Seq(items) if items.iter().all(|i| i.as_scalar().is_some()) => items
                        .iter()
                        .filter_map(|i| i.as_scalar().map(|s| s.text.as_str()))
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => json_value(&e.value).to_string(),
                };
                Some((e.key.clone(), self.make_text(text, e.value.loc, &field)))
            })
            .collect()
    }

    fn entrypoint(&mut self, node: Option<&Node>) -> Vec<Text> {
        let Some(node) = node else { return Vec::new() };
        if node.as_scalar().is_some() {
            return self.text(Some(node), "entrypoint").into_iter().collect();
        }
        let items = self.list(Some(node), "entrypoint").unwrap_or_default();
        items
            .iter()
            .filter_map(|i| self.text_or_empty(i, "entrypoint"))
            .collect()
    }

    fn output_variables(&mut self, node: Option<&Node>) -> Vec<OutputVariable> {
        let Some(items) = self.list(node, "outputVariables") else {
            return Vec::new();
        };
        let mut out: Vec<OutputVariable> = Vec::new();
        for item in items {
            // Old pipelines sometimes list bare names.
            let obj = if let Some(s) = item.as_scalar().filter(|s| !s.is_null()) {
                if !valid_identifier(&s.text) {
                    self.err(
                        s.content,
                        format!("output variable name \"{}\" is not valid", s.text),
                        Some(IDENTIFIER_HELP.to_string()),
                    );
                    continue;
                }
                out.push(OutputVariable {
                    name: s.text.clone(),
                    kind: OutputKind::String,
                    value: s.text.clone(),
                    loc: item.loc,
                });
                continue;
            } else {
                match self.object(item, &known::OUTPUT_VARIABLE) {
                    Some(o) => o,
                    None => continue,
                }
            };
            let Some((name, name_loc)) = self.string(obj.get("name"), "name") else {
                self.err(obj.loc, "output variable has no name", None);
                continue;
            };
            if !valid_identifier(&name) {
                self.err(
                    name_loc,
                    format!("output variable name \"{name}\" is not valid"),
                    Some(IDENTIFIER_HELP.to_string()),
                );
                continue;
            }
            let kind = match obj.get("type") {
                None => OutputKind::String,
                Some(t) => match self.choice(
                    Some(t),
                    "output variable type",
                    &["String", "Secret", "Number"],
                ) {
                    Some("Secret") => OutputKind::Secret,
                    Some("Number") => {
                        self.err(
                            obj.key_loc("type"),
                            "output variables of type Number are not supported",
                            Some(
                                "use type String; the value reads as a number in expressions"
                                    .to_string(),
                            ),
                        );
                        continue;
                    }
                    _ => OutputKind::String,
                },
            };
            self.description(&obj);
            let value = match self.string(obj.get("value"), "value") {
                None => name.clone(),
                Some((v, loc)) => {
                    if !valid_identifier(&v) {
                        self.err(
                            loc,
                            format!("output variable \"{name}\" captures \"{v}\", which is not a shell variable name"),
                            Some("value names the shell variable to capture; it defaults to the output's name".to_string()),
                        );
                        continue;
                    }
                    v
                }
            };
            if let Some(first) = out.iter().find(|o| o.name == name) {
                let first = first.loc;
                self.err(
                    obj.loc,
                    format!("duplicate output variable \"{name}\""),
                    Some(format!("\"{name}\" is already declared at {first}")),
                );
                continue;
            }
            out.push(OutputVariable {
                name,
                kind,
                value,
                loc: obj.loc,
            });
        }
        out
    }

    // ---- when, failure strategies, strategy -----------------------------

    fn when(&mut self, node: &Node, stage: bool) -> Option<When> {
        let keys = if stage {
            &known::STAGE_WHEN
        } else {
            &known::STEP_WHEN
        };
        let status_key = if stage {
            "pipelineStatus"
        } else {
            "stageStatus"
        };
        let wrong_key = if stage {
            "stageStatus"
        } else {
            "pipelineStatus"
        };
        // The other level's status key gets its own message below.
        let obj = match node.as_map() {
            Some(entries) => {
                let others: Vec<Entry> = entries
                    .iter()
                    .filter(|e| e.key != wrong_key)
                    .cloned()
                    .collect();
                self.check_keys(&others, keys);
                Obj {
                    entries,
                    loc: node.loc,
                }
            }
            None => self.object(node, keys)?,
        };
        let status = match obj.get(status_key) {
            Some(s) => match self
                .required(s, status_key)
                .and_then(|s| self.choice(Some(s), status_key, &["Success", "Failure", "All"]))
            {
                Some("Failure") => StatusCondition::Failure,
                Some("All") => StatusCondition::All,
                _ => StatusCondition::Success,
            },
            None => {
                let (loc, help) = match obj.entry(wrong_key) {
                    Some(e) => (
                        e.key_loc,
                        format!(
                            "{} use {status_key}, not {wrong_key}",
                            if stage {
                                "stages"
                            } else {
                                "steps and step groups"
                            }
                        ),
                    ),
                    None => (
                        obj.loc,
                        format!("add {status_key}: Success, Failure or All"),
                    ),
                };
                self.err(loc, format!("when has no {status_key}"), Some(help));
                StatusCondition::Success
            }
        };
        let condition = obj.get("condition").and_then(|c| {
            let s = self.scalar(c, "condition")?;
            let raw = match s.style {
                Style::Plain if s.text.eq_ignore_ascii_case("true") => "true".to_string(),
                Style::Plain if s.text.eq_ignore_ascii_case("false") => "false".to_string(),
                _ => s.text.clone(),
            };
            // A condition is checked with Condition::parse by validation;
            // here it only keeps the template form of its text.
            let template = Template::parse(&raw).ok();
            Some(Text {
                raw,
                loc: s.content,
                template,
            })
        });
        Some(When {
            status,
            condition,
            loc: obj.loc,
        })
    }

    fn failure_strategies(&mut self, node: Option<&Node>) -> Vec<FailureStrategy> {
        let Some(items) = self.list(node, "failureStrategies") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(fs) = self.object(item, &known::FAILURE_STRATEGY) else {
                continue;
            };
            let Some(on_failure) = fs.get("onFailure") else {
                self.err(fs.loc, "failure strategy has no onFailure", None);
                continue;
            };
            let Some(of) = self.object(on_failure, &known::ON_FAILURE) else {
                continue;
            };
            let errors = self.error_kinds(&of);
            let action = match of.get("action") {
                None => {
                    self.err(
                        of.loc,
                        "onFailure has no action",
                        Some(format!(
                            "add action.type: {}",
                            known::SUPPORTED_FAILURE_ACTIONS.join(", ")
                        )),
                    );
                    None
                }
                Some(a) => self.action(a, true),
            };
            if let (Some(errors), Some(action)) = (errors, action) {
                out.push(FailureStrategy {
                    errors,
                    action,
                    loc: fs.loc,
                });
            }
        }
        out
    }

    fn error_kinds(&mut self, of: &Obj<'_>) -> Option<Vec<ErrorKind>> {
        const NAMES: &[(&str, ErrorKind)] = &[
            ("AllErrors", ErrorKind::AllErrors),
            ("Unknown", ErrorKind::Unknown),
            ("Timeout", ErrorKind::Timeout),
            ("Authentication", ErrorKind::Authentication),
            ("Authorization", ErrorKind::Authorization),
            ("Connectivity", ErrorKind::Connectivity),
            ("Verification", ErrorKind::Verification),
            ("DelegateProvisioning", ErrorKind::DelegateProvisioning),
            (
                "PolicyEvaluationFailure",
                ErrorKind::PolicyEvaluationFailure,
            ),
            ("InputTimeoutError", ErrorKind::InputTimeoutError),
            ("ApprovalRejection", ErrorKind::ApprovalRejection),
            ("DelegateRestart", ErrorKind::DelegateRestart),
            ("UserMarkedFailure", ErrorKind::UserMarkedFailure),
            ("InfrastructureFailure", ErrorKind::InfrastructureFailure),
            ("PluginImageFailure", ErrorKind::PluginImageFailure),
            ("ResourceLimitsFailure", ErrorKind::ResourceLimitsFailure),
            ("ConfigurationFailure", ErrorKind::ConfigurationFailure),
            (
                "RetryableTransientFailure",
                ErrorKind::RetryableTransientFailure,
            ),
        ];
        let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
        let Some(items) = self.list(of.get("errors"), "errors") else {
            if of.get("errors").is_none() {
                self.err(
                    of.loc,
                    "onFailure has no errors",
                    Some("add errors: [AllErrors]".to_string()),
                );
            }
            return None;
        };
        if items.is_empty() {
            self.err(
                of.key_loc("errors"),
                "onFailure.errors is empty",
                Some("list the error types this strategy handles, e.g. [AllErrors]; an empty list would handle nothing".to_string()),
            );
            return None;
        }
        let mut out = Vec::new();
        for item in items {
            if let Some(name) = self
                .required(item, "errors")
                .and_then(|item| self.choice(Some(item), "error type", &names))
                && let Some((_, kind)) = NAMES.iter().find(|(n, _)| *n == name)
            {
                out.push(*kind);
            }
        }
        (out.len() == items.len()).then_some(out)
    }

    fn action(&mut self, node: &Node, allow_retry: bool) -> Option<FailureAction> {
        let obj = self.object(node, &known::ACTION)?;
        let Some(t) = obj.get("type") else {
            self.err(
                obj.loc,
                "failure action has no type",
                Some(format!(
                    "supported failure actions: {}",
                    known::SUPPORTED_FAILURE_ACTIONS.join(", ")
                )),
            );
            return None;
        };
        let t = self.required(t, "type")?;
        let (ty, loc) = self.string(Some(t), "type")?;
        let supported = known::SUPPORTED_FAILURE_ACTIONS.join(", ");
        match ty.as_str() {
            "Ignore" => Some(FailureAction::Ignore),
            "Abort" => Some(FailureAction::Abort),
            "MarkAsSuccess" => Some(FailureAction::MarkAsSuccess),
            "MarkAsFailure" => Some(FailureAction::MarkAsFailure),
            "Retry" if !allow_retry => {
                self.err(
                    loc,
                    "onRetryFailure cannot retry again",
                    Some("use Ignore, Abort, MarkAsSuccess or MarkAsFailure; raise retryCount for more tries".to_string()),
                );
                None
            }
            "Retry" => self.retry(obj.get("spec"), obj.loc),
            other => {
                let (message, hint) = if known::HARNESS_FAILURE_ACTIONS.contains(&other) {
                    (
                        format!("failure action \"{other}\" is not supported"),
                        String::new(),
                    )
                } else {
                    (
                        format!("unknown failure action \"{other}\""),
                        known::suggest(other, known::SUPPORTED_FAILURE_ACTIONS)
                            .map(|s| format!("did you mean \"{s}\"? "))
                            .unwrap_or_default(),
                    )
                };
                self.err(
                    loc,
                    message,
                    Some(format!("{hint}supported failure actions: {supported}")),
                );
                None
            }
        }
    }

    fn retry(&mut self, spec: Option<&Node>, loc: Location) -> Option<FailureAction> {
        let Some(spec) = spec else {
            self.err(
                loc,
                "Retry has no spec",
                Some("add spec.retryCount and spec.retryIntervals".to_string()),
            );
            return None;
        };
        let obj = self.object(spec, &known::RETRY_SPEC)?;
        let count = match obj.get("retryCount") {
            None => {
                self.err(
                    obj.loc,
                    "Retry has no retryCount",
                    Some("add retryCount: 1 (or more)".to_string()),
                );
                return None;
            }
            Some(c) if is_placeholder(c) => 1,
            Some(c) => {
                let c = self.required(c, "retryCount")?;
                self.count(Some(c), "retryCount", 1)?
            }
        };
        let mut intervals = Vec::new();
        if let Some(node) = obj.get("retryIntervals") {
            let single;
            let items: &[Node] = if node.as_scalar().is_some() && !node.is_null() {
                single = [node.clone()];
                &single
            } else {
                self.list(Some(node), "retryIntervals").unwrap_or_default()
            };
            for item in items {
                if is_placeholder(item) {
                    continue;
                }
                if let Some(s) = self.scalar(item, "retryIntervals")
                    && let Some(d) = self.duration(s, "retry interval", false)
                {
                    intervals.push(d);
                }
            }
        }
        let on_retry_failure = match obj.get("onRetryFailure") {
            None => FailureAction::MarkAsFailure,
            Some(n) => {
                let orf = self.object(n, &known::ON_RETRY_FAILURE)?;
                match orf.get("action") {
                    None => {
                        self.err(orf.loc, "onRetryFailure has no action", None);
                        return None;
                    }
                    Some(a) => self.action(a, false)?,
                }
            }
        };
        Some(FailureAction::Retry {
            count,
            intervals,
            on_retry_failure: Box::new(on_retry_failure),
        })
    }

    fn strategy(&mut self, node: &Node) -> Option<Strategy> {
        let obj = self.object(node, &known::STRATEGY)?;
        let kinds: Vec<&Entry> = ["matrix", "parallelism", "repeat"]
            .iter()
            .filter_map(|k| obj.entry(k))
            .collect();
        let max_concurrency = self.count(obj.get("maxConcurrency"), "maxConcurrency", 1);
        let chosen = match kinds.as_slice() {
            [] => {
                self.err(
                    obj.loc,
                    "strategy has none of matrix, parallelism or repeat",
                    Some("add one of matrix, parallelism or repeat".to_string()),
                );
                return None;
            }
            [one] => *one,
            [_, second, ..] => {
                self.err(
                    second.key_loc,
                    "strategy has more than one of matrix, parallelism and repeat",
                    Some("keep one; nest step groups for combined strategies".to_string()),
                );
                return None;
            }
        };
        let loc = chosen.key_loc;
        match chosen.key.as_str() {
            "parallelism" => {
                let count = if is_placeholder(&chosen.value) {
                    1
                } else {
                    let n = self.required(&chosen.value, "parallelism")?;
                    self.count(Some(n), "parallelism", 1)?
                };
                Some(Strategy::Parallelism {
                    count,
                    max_concurrency,
                    loc,
                })
            }
            "repeat" => self.repeat(&chosen.value, loc, max_concurrency),
            _ => self.matrix(&chosen.value, loc, max_concurrency),
        }
    }

    fn repeat(&mut self, node: &Node, loc: Location, outer_max: Option<u32>) -> Option<Strategy> {
        if is_placeholder(node) {
            return Some(Strategy::Repeat {
                times: Some(1),
                items: None,
                max_concurrency: outer_max,
                loc,
            });
        }
        let obj = self.object(node, &known::REPEAT)?;
        let max_concurrency = self
            .count(obj.get("maxConcurrency"), "maxConcurrency", 1)
            .or(outer_max);
        match (obj.get("times"), obj.get("items")) {
            (Some(t), None) => {
                let times = if is_placeholder(t) {
                    1
                } else {
                    let t = self.required(t, "times")?;
                    self.count(Some(t), "times", 0)?
                };
                Some(Strategy::Repeat {
                    times: Some(times),
                    items: None,
                    max_concurrency,
                    loc,
                })
            }
            (None, Some(i)) => {
                if i.as_scalar()
                    .is_some_and(|s| s.text.contains("<+") && parse_placeholder(&s.text).is_none())
                {
                    self.err(
                        i.loc,
                        "repeat items computed by an expression are not supported yet",
                        Some("list the items in the YAML, or use a matrix".to_string()),
                    );
                    return None;
                }
                let items = if is_placeholder(i) {
                    Vec::new()
                } else {
                    self.list(Some(i), "items")?
                        .iter()
                        .filter_map(|item| match &item.value {
                            Value::Scalar(s) => Some(serde_json::Value::String(s.text.clone())),
                            _ => {
                                self.err(
                                    item.loc,
                                    format!(
                                        "repeat items must be single values, found {}",
                                        item.kind()
                                    ),
                                    None,
                                );
                                None
                            }
                        })
                        .collect()
                };
                Some(Strategy::Repeat {
                    times: None,
                    items: Some(items),
                    max_concurrency,
                    loc,
                })
            }
            (Some(_), Some(_)) => {
                self.err(
                    obj.key_loc("items"),
                    "repeat has both times and items",
                    Some("keep one".to_string()),
                );
                None
            }
            (None, None)
                if obj
                    .entries
                    .iter()
                    .any(|e| known::REPEAT.unsupported.iter().any(|(k, _)| *k == e.key)) =>
            {
                None
            }
            (None, None) => {
                self.err(
                    loc,
                    "repeat has neither times nor items",
                    Some("add times: N or items: [...]".to_string()),
                );
                None
            }
        }
    }

    fn matrix(&mut self, node: &Node, loc: Location, outer_max: Option<u32>) -> Option<Strategy> {
        if is_placeholder(node) {
            return Some(Strategy::Matrix {
                axes: Vec::new(),
                exclude: Vec::new(),
                max_concurrency: outer_max,
                loc,
            });
        }
        let Some(entries) = node.as_map() else {
            self.err(
                node.loc,
                format!(
                    "matrix must be a mapping of axes to lists of values, found {}",
                    node.kind()
                ),
                None,
            );
            return None;
        };
        let mut axes: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
        for e in entries {
            if known::MATRIX_SETTINGS.contains(&e.key.as_str()) {
                continue;
            }
            if !valid_identifier(&e.key) {
                self.err(
                    e.key_loc,
                    format!("matrix axis name \"{}\" is not valid", e.key),
                    Some(format!(
                        "axes are read as <+matrix.AXIS>; {IDENTIFIER_HELP}"
                    )),
                );
                continue;
            }
            match &e.value.value {
                Value::Seq(values) if !values.is_empty() => {
                    axes.push((e.key.clone(), values.iter().map(json_value).collect()));
                }
                Value::Seq(_) => self.err(
                    e.value.loc,
                    format!("matrix axis \"{}\" has no values", e.key),
                    None,
                ),
                _ if is_placeholder(&e.value) => axes.push((e.key.clone(), Vec::new())),
                _ => self.err(
                    e.value.loc,
                    format!(
                        "matrix axis \"{}\" must be a list of values, found {}",
                        e.key,
                        e.value.kind()
                    ),
                    Some(
                        "axes computed by an expression are not supported yet; list the values"
                            .to_string(),
                    ),
                ),
            }
        }
        if axes.is_empty()
            && entries
                .iter()
                .all(|e| known::MATRIX_SETTINGS.contains(&e.key.as_str()))
        {
            self.err(
                loc,
                "matrix has no axes",
                Some("add an axis, e.g. os: [linux, mac]".to_string()),
            );
        }
        let max_concurrency = self
            .count(node.get("maxConcurrency"), "maxConcurrency", 1)
            .or(outer_max);
        self.string(node.get("nodeName"), "nodeName");
        let mut exclude = Vec::new();
        if let Some(items) = self.list(node.get("exclude"), "exclude") {
            for item in items {
                let Some(map) = item.as_map() else {
                    self.err(
                        item.loc,
                        format!(
                            "each exclude entry must map axes to values, found {}",
                            item.kind()
                        ),
                        None,
                    );
                    continue;
                };
                let mut combo = Vec::new();
                for e in map {
                    if !axes.iter().any(|(a, _)| *a == e.key) {
                        let names: Vec<&str> = axes.iter().map(|(a, _)| a.as_str()).collect();
                        self.err(
                            e.key_loc,
                            format!(
                                "exclude names axis \"{}\", which the matrix does not have",
                                e.key
                            ),
                            Some(format!("matrix axes: {}", names.join(", "))),
                        );
                        continue;
                    }
                    combo.push((e.key.clone(), json_value(&e.value)));
                }
                exclude.push(combo);
            }
        }
        Some(Strategy::Matrix {
            axes,
            exclude,
            max_concurrency,
            loc,
        })
    }
}

/// Harness's v1 ("unified") pipeline YAML also starts with `pipeline:`, but
/// has no identifier and uses keys such as `inputs`, `clone` or stages with
/// `steps` directly; it gets one clear error instead of one per key.
fn looks_like_v1(node: &Node) -> bool {
    const V1_KEYS: &[&str] = &[
        "inputs",
        "clone",
        "on",
        "if",
        "env",
        "options",
        "repository",
        "barriers",
    ];
    let Some(entries) = node.as_map() else {
        return false;
    };
    if entries.iter().any(|e| e.key == "identifier") {
        return false;
    }
    let v1_key = entries.iter().any(|e| V1_KEYS.contains(&e.key.as_str()));
    let v1_stage = node
        .get("stages")
        .and_then(Node::as_seq)
        .is_some_and(|items| {
            items
                .iter()
                .any(|i| i.get("steps").is_some() || i.get("id").is_some())
        });
    v1_key || v1_stage
}

/// A YAML node as a JSON value: plain integers become numbers, everything
/// else keeps its text (`1.10` stays `"1.10"`), collections recurse.
pub(crate) fn json_value(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Scalar(s) if s.is_null() => serde_json::Value::Null,
        Value::Scalar(s) => {
            let int = s.style == Style::Plain
                && (s.text == "0" || !s.text.starts_with('0') && !s.text.starts_with("-0"));
            match s.text.parse::<i64>() {
                Ok(n) if int => serde_json::Value::from(n),
                _ => serde_json::Value::String(s.text.clone()),
            }
        }
        Value::Seq(items) => serde_json::Value::Array(items.iter().map(json_value).collect()),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), json_value(&e.value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_characters_and_lines() {
        let start = Location::new(3, 10);
        assert_eq!(locate(start, "echo <+x>", 5), Location::new(3, 15));
        assert_eq!(locate(start, "é <+x>", 3), Location::new(3, 12));
        assert_eq!(locate(start, "a\nbc <+x>", 5), Location::new(4, 13));
        assert_eq!(locate(start, "abc", 99), start);
    }

    #[test]
    fn identifier_rule() {
        assert!(valid_identifier("build_1"));
        assert!(valid_identifier("_x$y"));
        assert!(!valid_identifier("1build"));
        assert!(!valid_identifier("my-step"));
        assert!(!valid_identifier(""));
        assert!(!valid_identifier(&"a".repeat(129)));
    }

    #[test]
    fn json_values_keep_text() {
        let node = |s: &str| crate::yaml::parse(s).unwrap().remove(0).unwrap();
        assert_eq!(json_value(&node("3")), serde_json::json!(3));
        assert_eq!(json_value(&node("1.10")), serde_json::json!("1.10"));
        assert_eq!(json_value(&node("010")), serde_json::json!("010"));
        assert_eq!(json_value(&node("'3'")), serde_json::json!("3"));
        assert_eq!(
            json_value(&node("{a: 1, b: [x]}")),
            serde_json::json!({"a": 1, "b": ["x"]})
        );
    }
}
