//! Checks a loaded pipeline against what Rampart can run: every expression
//! parses and reads a path that exists where it is used, identifiers are
//! unique, secrets have a store, Number variables hold numbers.
//!
//! The paths accepted here are exactly those the engine's scope resolves
//! (see the crate docs); each unknown one is reported at its field with the
//! names available at that point.

use std::collections::BTreeMap;

use rampart_core::Location;

use crate::convert::locate;
use crate::expr::{Condition, Reference, Template};
use crate::inputs::parse_placeholder;
use crate::model::*;
use crate::{Diagnostic, ValidateOptions};

/// The keys `<+codebase.KEY>` accepts (`build.type` is two segments); the
/// engine resolves exactly these.
pub const CODEBASE_KEYS: &[&str] = &[
    "branch",
    "tag",
    "commitSha",
    "shortCommitSha",
    "repoUrl",
    "gitUserId",
    "gitUser",
    "gitUserEmail",
    "prNumber",
    "prTitle",
    "sourceBranch",
    "targetBranch",
    "commitMessage",
    "state",
    "build.type",
];

/// The keys `<+trigger.KEY>` accepts; the engine resolves exactly these.
pub const TRIGGER_KEYS: &[&str] = &[
    "event",
    "type",
    "branch",
    "tag",
    "commitSha",
    "sourceBranch",
    "targetBranch",
    "prNumber",
    "prTitle",
    "repoUrl",
    "gitUser",
];

const PIPELINE_KEYS: &[&str] = &[
    "identifier",
    "name",
    "sequenceId",
    "executionId",
    "orgIdentifier",
    "projectIdentifier",
    "startTs",
    "triggerType",
    "variables",
    "stages",
];

const ROOTS: &str = "expressions start with pipeline, stage, step, steps, execution, codebase, trigger, strategy, matrix, repeat or secrets.getValue";

const NO_STORE_HELP: &str = "this version of Rampart has no secret store yet (the local encrypted store, `rampart secret set`, is not available); pass the value as a runtime input instead";

/// Validates `pipeline` in place (filling templates that were never parsed)
/// and returns every problem found.
pub(crate) fn check(pipeline: &mut Pipeline, options: &ValidateOptions) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    fill_templates(pipeline, &mut diags);
    let mut v = Validator {
        pipeline,
        options,
        diags,
    };
    v.run();
    v.diags
}

struct Validator<'p> {
    pipeline: &'p Pipeline,
    options: &'p ValidateOptions,
    diags: Vec<Diagnostic>,
}

/// Where a field sits: what `stage.*`, `step.*`, `steps.*`, `strategy.*`,
/// `matrix.*` and `repeat.*` mean there.
#[derive(Clone, Default)]
struct Ctx<'p> {
    stage: Option<&'p Stage>,
    step: Option<&'p Step>,
    /// The step groups enclosing the field, outermost first.
    groups: Vec<&'p StepGroup>,
    /// The strategies enclosing the field (its own included), outermost first.
    strategies: Vec<&'p Strategy>,
}

enum Resolved {
    Ok,
    /// A valid path that stops at an object; fine when the expression goes on
    /// with a computed segment (`pipeline.variables[<+x>]`).
    Prefix,
    Unknown(String),
}

impl<'p> Validator<'p> {
    fn err(&mut self, loc: Location, message: String, help: Option<String>) {
        self.diags.push(Diagnostic { loc, message, help });
    }

    fn run(&mut self) {
        let p = self.pipeline;
        let top = Ctx::default();
        if let Some(cb) = &p.codebase {
            for text in [&cb.connector_ref, &cb.repo_name].into_iter().flatten() {
                self.text(text, &top);
            }
            if let Some(build) = &cb.build {
                let (CodebaseBuild::Branch(t)
                | CodebaseBuild::Tag(t)
                | CodebaseBuild::PullRequest(t)
                | CodebaseBuild::CommitSha(t)) = build;
                self.text(t, &top);
            }
        }
        self.variables(&p.variables, &top);
        let mut seen: BTreeMap<&str, Location> = BTreeMap::new();
        for node in &p.stages {
            let stages: &[Stage] = match node {
                StageNode::Stage(s) => std::slice::from_ref(s),
                StageNode::Parallel { stages, .. } => stages,
            };
            for stage in stages {
                if let Some(first) = seen.get(stage.identifier.as_str()) {
                    self.err(
                        stage.loc,
                        format!("duplicate stage identifier \"{}\"", stage.identifier),
                        Some(format!("a stage with this identifier is already defined at {first}; stage identifiers must be unique in the pipeline")),
                    );
                } else {
                    seen.insert(&stage.identifier, stage.loc);
                }
                self.stage(stage);
            }
        }
    }

    fn variables(&mut self, vars: &[Variable], ctx: &Ctx<'p>) {
        for var in vars {
            self.text(&var.value, ctx);
            if var.kind == VariableKind::Secret
                && !self.options.secrets_available
                && !var.value.raw.is_empty()
                && !is_input(&var.value)
            {
                self.err(
                    var.loc,
                    format!("secret variable \"{}\" needs a secret store", var.name),
                    Some(NO_STORE_HELP.to_string()),
                );
            }
            if var.kind == VariableKind::Number
                && !var.value.raw.contains("<+")
                && !var.value.raw.trim().is_empty()
                && var.value.raw.trim().parse::<f64>().is_err()
            {
                self.err(
                    var.value.loc,
                    format!(
                        "variable \"{}\" is a Number but its value \"{}\" is not a number",
                        var.name, var.value.raw
                    ),
                    Some(
                        "write a number such as 3 or 2.5, or change the type to String".to_string(),
                    ),
                );
            }
        }
    }

    fn stage(&mut self, stage: &'p Stage) {
        let mut ctx = Ctx {
            stage: Some(stage),
            ..Ctx::default()
        };
        if let Some(s) = &stage.strategy {
            ctx.strategies.push(s);
        }
        self.variables(&stage.variables, &ctx);
        for path in &stage.shared_paths {
            self.text(path, &ctx);
        }
        if let Some(when) = &stage.when {
            self.when(when, &ctx);
        }
        let mut ids: BTreeMap<&str, Location> = BTreeMap::new();
        self.step_nodes(&stage.steps, &ctx, &mut ids);
    }

    fn step_nodes(
        &mut self,
        nodes: &'p [StepNode],
        ctx: &Ctx<'p>,
        ids: &mut BTreeMap<&'p str, Location>,
    ) {
        for node in nodes {
            match node {
                StepNode::Parallel { nodes, .. } => self.step_nodes(nodes, ctx, ids),
                StepNode::Group(group) => {
                    self.unique(&group.identifier, group.loc, ids);
                    let mut inner = ctx.clone();
                    inner.groups.push(group);
                    if let Some(s) = &group.strategy {
                        inner.strategies.push(s);
                    }
                    if let Some(when) = &group.when {
                        self.when(when, &inner);
                    }
                    self.step_nodes(&group.steps, &inner, ids);
                }
                StepNode::Step(step) => {
                    self.unique(&step.identifier, step.loc, ids);
                    let mut inner = ctx.clone();
                    inner.step = Some(step);
                    if let Some(s) = &step.strategy {
                        inner.strategies.push(s);
                    }
                    if let Some(when) = &step.when {
                        self.when(when, &inner);
                    }
                    let spec = &step.spec;
                    for text in [&spec.command, &spec.image, &spec.connector_ref, &spec.uses]
                        .into_iter()
                        .flatten()
                    {
                        self.text(text, &inner);
                    }
                    for (_, text) in spec.env_variables.iter().chain(&spec.settings) {
                        self.text(text, &inner);
                    }
                    for text in &spec.entrypoint {
                        self.text(text, &inner);
                    }
                    for text in step.supply.iter().flat_map(SupplySpec::texts) {
                        self.text(text, &inner);
                    }
                }
            }
        }
    }

    fn unique(&mut self, id: &'p str, loc: Location, ids: &mut BTreeMap<&'p str, Location>) {
        if let Some(first) = ids.get(id) {
            self.err(
                loc,
                format!("duplicate step identifier \"{id}\""),
                Some(format!("a step or step group with this identifier is already defined at {first}; identifiers must be unique within a stage")),
            );
        } else {
            ids.insert(id, loc);
        }
    }

    fn when(&mut self, when: &When, ctx: &Ctx<'p>) {
        let Some(cond) = &when.condition else { return };
        if is_input(cond) {
            return;
        }
        match Condition::parse(&cond.raw) {
            Ok(parsed) => self.references(cond, &parsed.references(), ctx),
            Err(e) => self.err(
                locate(cond.loc, &cond.raw, e.offset),
                format!("invalid condition: {}", e.message),
                None,
            ),
        }
    }

    fn text(&mut self, text: &Text, ctx: &Ctx<'p>) {
        if is_input(text) {
            return;
        }
        let Some(template) = &text.template else {
            // Loading already reported why it does not parse.
            return;
        };
        self.references(text, &template.references(), ctx);
    }

    fn references(&mut self, text: &Text, refs: &[Reference], ctx: &Ctx<'p>) {
        for r in refs {
            match r {
                Reference::Secret { id, offset } => {
                    if !self.options.secrets_available {
                        let shown = id
                            .as_deref()
                            .map_or_else(|| "...".to_string(), |i| format!("\"{i}\""));
                        self.err(
                            locate(text.loc, &text.raw, *offset),
                            format!("secrets.getValue({shown}) needs a secret store"),
                            Some(NO_STORE_HELP.to_string()),
                        );
                    }
                }
                Reference::Path { segments, offset } => {
                    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
                    let loc = locate(text.loc, &text.raw, *offset);
                    match self.resolve(&segs, ctx) {
                        Resolved::Ok => {}
                        Resolved::Prefix if continues_computed(&text.raw, *offset) => {}
                        Resolved::Prefix => self.err(
                            loc,
                            format!("expression path \"{}\" is incomplete", segs.join(".")),
                            Some(incomplete_help(&segs)),
                        ),
                        Resolved::Unknown(help) => {
                            let message = if segs == ["input"] {
                                "<+input> must be the whole value of a field".to_string()
                            } else {
                                format!("unknown expression path \"{}\"", segs.join("."))
                            };
                            self.err(loc, message, Some(help));
                        }
                    }
                }
            }
        }
    }

    fn resolve(&self, segs: &[&str], ctx: &Ctx<'p>) -> Resolved {
        match segs {
            [] => Resolved::Unknown(ROOTS.to_string()),
            ["pipeline", rest @ ..] => self.pipeline_path(rest),
            ["stage", rest @ ..] => match ctx.stage {
                None => Resolved::Unknown("stage.* can only be used inside a stage; use pipeline.stages.STAGE.* here".to_string()),
                Some(stage) => self.stage_path(stage, rest, "stage"),
            },
            ["steps", rest @ ..] | ["execution", "steps", rest @ ..] => match ctx.stage {
                None => Resolved::Unknown("steps.* can only be used inside a stage; use pipeline.stages.STAGE.spec.execution.steps.* here".to_string()),
                Some(stage) => {
                    // Relative to the enclosing groups (innermost first), then the stage.
                    for group in ctx.groups.iter().rev() {
                        let found = step_path(&group.steps, rest);
                        if matches!(found, Resolved::Ok | Resolved::Prefix) {
                            return found;
                        }
                    }
                    step_path(&stage.steps, rest)
                }
            },
            ["execution"] => Resolved::Prefix,
            ["step", rest @ ..] => match (ctx.step, rest) {
                (None, _) => Resolved::Unknown("step.* can only be used inside a step".to_string()),
                (Some(_), ["identifier" | "name"]) => Resolved::Ok,
                (Some(_), []) => Resolved::Prefix,
                (Some(_), _) => Resolved::Unknown("available: step.identifier, step.name".to_string()),
            },
            ["codebase", rest @ ..] => {
                let key = rest.join(".");
                if CODEBASE_KEYS.contains(&key.as_str()) {
                    Resolved::Ok
                } else if rest.is_empty() || key == "build" {
                    Resolved::Prefix
                } else {
                    Resolved::Unknown(format!("available: {}", prefixed("codebase", CODEBASE_KEYS)))
                }
            }
            ["trigger", rest @ ..] => match rest {
                [key] if TRIGGER_KEYS.contains(key) => Resolved::Ok,
                [] => Resolved::Prefix,
                _ => Resolved::Unknown(format!("available: {}", prefixed("trigger", TRIGGER_KEYS))),
            },
            ["strategy", rest @ ..] => {
                if ctx.strategies.is_empty() {
                    return Resolved::Unknown("strategy.* can only be used in a node that has, or is inside, a strategy".to_string());
                }
                match rest {
                    ["iteration" | "iterations" | "identifierPostFix"] => Resolved::Ok,
                    [] => Resolved::Prefix,
                    _ => Resolved::Unknown("available: strategy.iteration, strategy.iterations, strategy.identifierPostFix".to_string()),
                }
            }
            ["matrix", rest @ ..] => {
                let matrix = ctx.strategies.iter().rev().find_map(|s| match s {
                    Strategy::Matrix { axes, .. } => Some(axes),
                    _ => None,
                });
                let Some(axes) = matrix else {
                    return Resolved::Unknown("matrix.* can only be used in a node that has, or is inside, a matrix strategy".to_string());
                };
                let names: Vec<&str> = axes.iter().map(|(a, _)| a.as_str()).collect();
                match rest {
                    [] => Resolved::Prefix,
                    [axis, fields @ ..] => match axes.iter().find(|(a, _)| a == axis) {
                        None => Resolved::Unknown(format!("axes of the nearest matrix: {}", names.join(", "))),
                        Some((_, values)) => matrix_fields(values, fields),
                    },
                }
            }
            ["repeat", rest @ ..] => {
                let has_items = ctx.strategies.iter().rev().any(|s| matches!(s, Strategy::Repeat { items: Some(_), .. }));
                if !has_items {
                    return Resolved::Unknown("repeat.item can only be used in a node that has, or is inside, a repeat strategy with items".to_string());
                }
                match rest {
                    ["item"] => Resolved::Ok,
                    [] => Resolved::Prefix,
                    _ => Resolved::Unknown("available: repeat.item".to_string()),
                }
            }
            ["secrets", ..] => Resolved::Unknown("read a secret with <+secrets.getValue(\"id\")>".to_string()),
            ["input", ..] => Resolved::Unknown("write the field as <+input>, optionally followed by .default(v), .allowedValues(a,b), .regex(r)".to_string()),
            _ => Resolved::Unknown(ROOTS.to_string()),
        }
    }

    fn pipeline_path(&self, rest: &[&str]) -> Resolved {
        let p = self.pipeline;
        match rest {
            [] | ["variables"] | ["stages"] => Resolved::Prefix,
            [
                "identifier" | "name" | "sequenceId" | "executionId" | "orgIdentifier"
                | "projectIdentifier" | "startTs" | "triggerType",
            ] => Resolved::Ok,
            ["variables", name] => {
                if p.variables.iter().any(|v| v.name == *name) {
                    Resolved::Ok
                } else {
                    Resolved::Unknown(declared(
                        "pipeline variables",
                        p.variables.iter().map(|v| v.name.as_str()),
                    ))
                }
            }
            ["stages", id, more @ ..] => {
                let stages = all_stages(p);
                match stages
                    .iter()
                    .find(|s| matches_id(&s.identifier, s.strategy.is_some(), id))
                {
                    Some(stage) => self.stage_path(stage, more, &format!("pipeline.stages.{id}")),
                    None => Resolved::Unknown(declared(
                        "stages",
                        stages.iter().map(|s| s.identifier.as_str()),
                    )),
                }
            }
            _ => Resolved::Unknown(format!(
                "available: {}",
                prefixed("pipeline", PIPELINE_KEYS)
            )),
        }
    }

    fn stage_path(&self, stage: &Stage, rest: &[&str], prefix: &str) -> Resolved {
        match rest {
            []
            | ["variables"]
            | ["spec"]
            | ["spec", "execution"]
            | ["spec", "execution", "steps"] => Resolved::Prefix,
            ["identifier" | "name"] => Resolved::Ok,
            ["variables", name] => {
                if stage.variables.iter().any(|v| v.name == *name) {
                    Resolved::Ok
                } else {
                    Resolved::Unknown(declared(
                        &format!("variables of stage \"{}\"", stage.identifier),
                        stage.variables.iter().map(|v| v.name.as_str()),
                    ))
                }
            }
            ["spec", "execution", "steps", steps @ ..] => step_path(&stage.steps, steps),
            _ => Resolved::Unknown(format!(
                "available: {prefix}.identifier, {prefix}.name, {prefix}.variables.NAME, {prefix}.spec.execution.steps.STEP.output.outputVariables.NAME"
            )),
        }
    }
}

/// `STEP(.steps.STEP)*.output.outputVariables.X` among `nodes`.
fn step_path(nodes: &[StepNode], segs: &[&str]) -> Resolved {
    let Some((id, rest)) = segs.split_first() else {
        return Resolved::Prefix;
    };
    let mut found = None;
    visit_level(nodes, &mut |node| {
        let (ident, has_strategy) = match node {
            StepNode::Step(s) => (&s.identifier, s.strategy.is_some()),
            StepNode::Group(g) => (&g.identifier, g.strategy.is_some()),
            StepNode::Parallel { .. } => return,
        };
        if found.is_none() && matches_id(ident, has_strategy, id) {
            found = Some(node);
        }
    });
    let Some(node) = found else {
        let mut names = Vec::new();
        visit_level(nodes, &mut |node| match node {
            StepNode::Step(s) => names.push(s.identifier.clone()),
            StepNode::Group(g) => names.push(format!("{}.steps.STEP", g.identifier)),
            StepNode::Parallel { .. } => {}
        });
        return Resolved::Unknown(format!(
            "steps here: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    match node {
        StepNode::Group(group) => match rest {
            [] | ["steps"] => Resolved::Prefix,
            ["steps", more @ ..] => step_path(&group.steps, more),
            _ => Resolved::Unknown(format!(
                "\"{id}\" is a step group: continue with {id}.steps.STEP"
            )),
        },
        StepNode::Step(step) => {
            let outputs = &step.spec.output_variables;
            match rest {
                [] | ["output"] | ["output", "outputVariables"] => Resolved::Prefix,
                ["output", "outputVariables", name] => {
                    if outputs.iter().any(|o| o.name == *name) {
                        Resolved::Ok
                    } else {
                        Resolved::Unknown(declared(
                            &format!("output variables of step \"{}\"", step.identifier),
                            outputs.iter().map(|o| o.name.as_str()),
                        ))
                    }
                }
                _ => Resolved::Unknown(format!(
                    "a step's outputs are read as steps.{id}.output.outputVariables.NAME"
                )),
            }
        }
        StepNode::Parallel { .. } => Resolved::Unknown(String::new()),
    }
}

/// Calls `f` on each step and group at this level (through `parallel:`).
fn visit_level<'a>(nodes: &'a [StepNode], f: &mut dyn FnMut(&'a StepNode)) {
    for node in nodes {
        match node {
            StepNode::Parallel { nodes, .. } => visit_level(nodes, f),
            other => f(other),
        }
    }
}

/// `written` names `identifier`, or one of its strategy expansions `identifier_N`.
fn matches_id(identifier: &str, has_strategy: bool, written: &str) -> bool {
    if written == identifier {
        return true;
    }
    has_strategy
        && written
            .strip_prefix(identifier)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn matrix_fields(values: &[serde_json::Value], fields: &[&str]) -> Resolved {
    if fields.is_empty() {
        return Resolved::Ok;
    }
    let objects: Vec<&serde_json::Map<String, serde_json::Value>> = values
        .iter()
        .filter_map(serde_json::Value::as_object)
        .collect();
    if objects.is_empty() {
        return Resolved::Unknown("this axis has no object values to read fields from".to_string());
    }
    let mut current: Vec<&serde_json::Value> = values.iter().collect();
    for field in fields {
        let next: Vec<&serde_json::Value> = current.iter().filter_map(|v| v.get(field)).collect();
        if next.is_empty() {
            let mut keys: Vec<&str> = current
                .iter()
                .filter_map(|v| v.as_object())
                .flat_map(|o| o.keys().map(String::as_str))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            return Resolved::Unknown(format!(
                "fields of these matrix values: {}",
                keys.join(", ")
            ));
        }
        current = next;
    }
    Resolved::Ok
}

fn all_stages(p: &Pipeline) -> Vec<&Stage> {
    p.stages
        .iter()
        .flat_map(|n| match n {
            StageNode::Stage(s) => std::slice::from_ref(s),
            StageNode::Parallel { stages, .. } => stages.as_slice(),
        })
        .collect()
}

fn declared<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        format!("there are no {what}")
    } else {
        format!("{what}: {}", names.join(", "))
    }
}

fn prefixed(root: &str, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("{root}.{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn incomplete_help(segs: &[&str]) -> String {
    match segs.first().copied() {
        Some("pipeline") => {
            "name a value, e.g. pipeline.variables.NAME or pipeline.identifier".to_string()
        }
        Some("steps" | "execution") => {
            "read an output as steps.STEP.output.outputVariables.NAME".to_string()
        }
        _ => "name a value, not a group of values".to_string(),
    }
}

/// Whether the path at `offset` goes on with a computed segment (`[<+x>]`,
/// `.<+x>`), which references() leaves out.
fn continues_computed(raw: &str, offset: usize) -> bool {
    let Some(rest) = raw.get(offset..) else {
        return false;
    };
    let window: String = rest.chars().take_while(|c| *c != '>').collect();
    window.contains('[') || window.contains(".<+")
}

fn is_input(text: &Text) -> bool {
    parse_placeholder(&text.raw).is_some()
}

/// Parses any template left unparsed (a pipeline built by hand rather than
/// loaded), reporting those that do not parse. Conditions keep their
/// template form only when it parses; they are checked as conditions.
fn fill_templates(p: &mut Pipeline, diags: &mut Vec<Diagnostic>) {
    fn fill(t: &mut Text, diags: &mut Vec<Diagnostic>) {
        if t.template.is_some() {
            return;
        }
        match Template::parse(&t.raw) {
            Ok(template) => t.template = Some(template),
            Err(_) if is_input(t) => {}
            Err(e) => diags.push(Diagnostic {
                loc: locate(t.loc, &t.raw, e.offset),
                message: format!("invalid expression: {}", e.message),
                help: None,
            }),
        }
    }
    fn vars(vs: &mut [Variable], diags: &mut Vec<Diagnostic>) {
        vs.iter_mut().for_each(|v| fill(&mut v.value, diags));
    }
    fn when(w: &mut Option<When>) {
        if let Some(c) = w.as_mut().and_then(|w| w.condition.as_mut())
            && c.template.is_none()
        {
            c.template = Template::parse(&c.raw).ok();
        }
    }
    fn steps(nodes: &mut [StepNode], diags: &mut Vec<Diagnostic>) {
        for node in nodes {
            match node {
                StepNode::Parallel { nodes, .. } => steps(nodes, diags),
                StepNode::Group(g) => {
                    when(&mut g.when);
                    steps(&mut g.steps, diags);
                }
                StepNode::Step(s) => {
                    when(&mut s.when);
                    let spec = &mut s.spec;
                    for t in [
                        &mut spec.command,
                        &mut spec.image,
                        &mut spec.connector_ref,
                        &mut spec.uses,
                    ]
                    .into_iter()
                    .flatten()
                    {
                        fill(t, diags);
                    }
                    spec.env_variables
                        .iter_mut()
                        .for_each(|(_, t)| fill(t, diags));
                    spec.settings.iter_mut().for_each(|(_, t)| fill(t, diags));
                    spec.entrypoint.iter_mut().for_each(|t| fill(t, diags));
                    s.supply
                        .iter_mut()
                        .flat_map(SupplySpec::texts_mut)
                        .for_each(|t| fill(t, diags));
                }
            }
        }
    }
    if let Some(cb) = &mut p.codebase {
        for t in [&mut cb.connector_ref, &mut cb.repo_name]
            .into_iter()
            .flatten()
        {
            fill(t, diags);
        }
        if let Some(
            CodebaseBuild::Branch(t)
            | CodebaseBuild::Tag(t)
            | CodebaseBuild::PullRequest(t)
            | CodebaseBuild::CommitSha(t),
        ) = &mut cb.build
        {
            fill(t, diags);
        }
    }
    vars(&mut p.variables, diags);
    for node in &mut p.stages {
        let stages: &mut [Stage] = match node {
            StageNode::Stage(s) => std::slice::from_mut(s),
            StageNode::Parallel { stages, .. } => stages,
        };
        for s in stages {
            vars(&mut s.variables, diags);
            s.shared_paths.iter_mut().for_each(|t| fill(t, diags));
            when(&mut s.when);
            steps(&mut s.steps, diags);
        }
    }
}
