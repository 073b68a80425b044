//! The plan: the pipeline's stages and steps with every `strategy:` expanded
//! into its iterations, each node carrying its stable id, the strategy
//! iterations it sits in and the failure strategies that apply to it.
//!
//! Strategies are static in Rampart (axes, counts and items are literal YAML),
//! so the whole tree is built before the run starts; the run then only walks it.

use std::collections::BTreeMap;
use std::sync::Arc;

use rampart_pipeline::expr::Value;
use rampart_pipeline::model::{
    FailureStrategy, Pipeline, Stage, StageNode, Step, StepGroup, StepNode, Strategy,
};

use crate::scope::json_to_value;

/// One iteration of a `strategy:`: what `<+strategy.*>`, `<+matrix.*>` and
/// `<+repeat.item>` read inside it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Iteration {
    pub index: usize,
    pub total: usize,
    pub kind: IterationKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IterationKind {
    /// `parallelism` or `repeat.times`.
    Plain,
    /// One combination of a matrix, in axis order.
    Matrix(Vec<(String, Value)>),
    /// One of `repeat.items`.
    Item(Value),
}

impl Iteration {
    /// `_0`, `_1`, ...: appended to the node's identifier (Harness's default).
    pub fn postfix(&self) -> String {
        format!("_{}", self.index)
    }

    /// The node's name for people: the matrix values or item when there are
    /// some, else the index.
    fn display_name(&self, name: &str) -> String {
        match &self.kind {
            IterationKind::Plain => format!("{name}_{}", self.index),
            IterationKind::Matrix(values) => {
                let values: Vec<String> = values
                    .iter()
                    .map(|(axis, value)| format!("{axis}={value}"))
                    .collect();
                format!("{name} ({})", values.join(", "))
            }
            IterationKind::Item(item) => format!("{name} ({item})"),
        }
    }
}

/// Where a node sits: the strategy iterations around it (outermost first,
/// its own last) and the step groups around it (outermost first).
#[derive(Debug, Clone, Default)]
pub(crate) struct Frame {
    pub iterations: Vec<Arc<Iteration>>,
    pub groups: Vec<GroupRef>,
}

/// An enclosing step group: its YAML identifier and its key in the stage
/// (`OUTER.GROUP_0`), so expressions written with the plain identifier can
/// find the iteration they run in.
#[derive(Debug, Clone)]
pub(crate) struct GroupRef {
    pub identifier: String,
    pub key: String,
}

pub(crate) struct Plan<'p> {
    pub stages: Vec<StageEntry<'p>>,
}

pub(crate) enum StageEntry<'p> {
    Stage(Box<PlanStage<'p>>),
    Parallel(Vec<StageEntry<'p>>),
    /// A stage's strategy iterations, run at most `limit` at a time.
    Strategy {
        iterations: Vec<PlanStage<'p>>,
        limit: usize,
    },
}

pub(crate) struct PlanStage<'p> {
    /// Stable id: the identifier, `_N` for strategy iterations.
    pub id: String,
    pub name: String,
    pub stage: &'p Stage,
    pub frame: Frame,
    pub steps: Vec<StepEntry<'p>>,
}

pub(crate) enum StepEntry<'p> {
    Step(Box<PlanStep<'p>>),
    Group(Box<PlanGroup<'p>>),
    Parallel(Vec<StepEntry<'p>>),
    /// A node's strategy iterations, run at most `limit` at a time.
    Strategy {
        iterations: Vec<StepEntry<'p>>,
        limit: usize,
    },
}

pub(crate) struct PlanStep<'p> {
    /// Stable id in the stage: `GROUP.STEP`, `_N` suffixes for iterations.
    pub key: String,
    /// The step's own identifier, with its `_N` suffix.
    pub identifier: String,
    /// For people; shows the iteration.
    pub display_name: String,
    pub step: &'p Step,
    pub frame: Frame,
    /// Failure strategies to search, nearest first: the step's own, then the
    /// enclosing groups' (innermost first), then the stage's.
    pub failure: Vec<&'p [FailureStrategy]>,
}

pub(crate) struct PlanGroup<'p> {
    pub key: String,
    pub group: &'p StepGroup,
    pub frame: Frame,
    /// As for steps, starting with the group's own.
    pub failure: Vec<&'p [FailureStrategy]>,
    pub children: Vec<StepEntry<'p>>,
}

/// Builds the plan of a validated pipeline.
pub(crate) fn build(pipeline: &Pipeline) -> Plan<'_> {
    Plan {
        stages: pipeline.stages.iter().map(stage_node).collect(),
    }
}

fn stage_node(node: &StageNode) -> StageEntry<'_> {
    match node {
        StageNode::Stage(stage) => stage_entry(stage),
        StageNode::Parallel { stages, .. } => {
            StageEntry::Parallel(stages.iter().map(stage_entry).collect())
        }
    }
}

fn stage_entry(stage: &Stage) -> StageEntry<'_> {
    match stage.strategy.as_ref().map(expand) {
        None => StageEntry::Stage(Box::new(plan_stage(stage, None))),
        Some(expansion) => StageEntry::Strategy {
            iterations: expansion
                .iterations
                .into_iter()
                .map(|iteration| plan_stage(stage, Some(Arc::new(iteration))))
                .collect(),
            limit: expansion.limit,
        },
    }
}

fn plan_stage(stage: &Stage, iteration: Option<Arc<Iteration>>) -> PlanStage<'_> {
    let mut frame = Frame::default();
    let (id, name) = match &iteration {
        Some(iteration) => (
            format!("{}{}", stage.identifier, iteration.postfix()),
            iteration.display_name(&stage.name),
        ),
        None => (stage.identifier.clone(), stage.name.clone()),
    };
    frame.iterations.extend(iteration);
    let parent = Parent {
        frame: frame.clone(),
        key_prefix: String::new(),
        failure: vec![stage.failure_strategies.as_slice()],
    };
    PlanStage {
        id,
        name,
        stage,
        frame,
        steps: step_nodes(&stage.steps, &parent),
    }
}

/// What a step node inherits from the stage or group it is in.
struct Parent<'p> {
    frame: Frame,
    /// `GROUP_0.` inside a group, empty at the stage's top level.
    key_prefix: String,
    failure: Vec<&'p [FailureStrategy]>,
}

fn step_nodes<'p>(nodes: &'p [StepNode], parent: &Parent<'p>) -> Vec<StepEntry<'p>> {
    nodes.iter().map(|node| step_node(node, parent)).collect()
}

fn step_node<'p>(node: &'p StepNode, parent: &Parent<'p>) -> StepEntry<'p> {
    match node {
        StepNode::Step(step) => expanded(step.strategy.as_ref(), |iteration| {
            StepEntry::Step(Box::new(plan_step(step, parent, iteration)))
        }),
        StepNode::Group(group) => expanded(group.strategy.as_ref(), |iteration| {
            StepEntry::Group(Box::new(plan_group(group, parent, iteration)))
        }),
        StepNode::Parallel { nodes, .. } => StepEntry::Parallel(step_nodes(nodes, parent)),
    }
}

/// One entry, or a strategy entry holding one per iteration.
fn expanded<'p>(
    strategy: Option<&Strategy>,
    mut make: impl FnMut(Option<Arc<Iteration>>) -> StepEntry<'p>,
) -> StepEntry<'p> {
    match strategy.map(expand) {
        None => make(None),
        Some(expansion) => StepEntry::Strategy {
            iterations: expansion
                .iterations
                .into_iter()
                .map(|iteration| make(Some(Arc::new(iteration))))
                .collect(),
            limit: expansion.limit,
        },
    }
}

fn plan_step<'p>(
    step: &'p Step,
    parent: &Parent<'p>,
    iteration: Option<Arc<Iteration>>,
) -> PlanStep<'p> {
    let (identifier, display_name) = match &iteration {
        Some(iteration) => (
            format!("{}{}", step.identifier, iteration.postfix()),
            iteration.display_name(&step.name),
        ),
        None => (step.identifier.clone(), step.name.clone()),
    };
    let mut frame = parent.frame.clone();
    frame.iterations.extend(iteration);
    let mut failure = vec![step.failure_strategies.as_slice()];
    failure.extend(parent.failure.iter().copied());
    PlanStep {
        key: format!("{}{identifier}", parent.key_prefix),
        identifier,
        display_name,
        step,
        frame,
        failure,
    }
}

fn plan_group<'p>(
    group: &'p StepGroup,
    parent: &Parent<'p>,
    iteration: Option<Arc<Iteration>>,
) -> PlanGroup<'p> {
    let identifier = match &iteration {
        Some(iteration) => format!("{}{}", group.identifier, iteration.postfix()),
        None => group.identifier.clone(),
    };
    let key = format!("{}{identifier}", parent.key_prefix);
    let mut frame = parent.frame.clone();
    frame.iterations.extend(iteration);
    frame.groups.push(GroupRef {
        identifier: group.identifier.clone(),
        key: key.clone(),
    });
    let mut failure = vec![group.failure_strategies.as_slice()];
    failure.extend(parent.failure.iter().copied());
    let inner = Parent {
        frame: frame.clone(),
        key_prefix: format!("{key}."),
        failure: failure.clone(),
    };
    PlanGroup {
        children: step_nodes(&group.steps, &inner),
        key,
        group,
        frame,
        failure,
    }
}

/// A strategy's iterations and how many may run at once.
#[derive(Debug, PartialEq)]
pub(crate) struct Expansion {
    pub iterations: Vec<Iteration>,
    pub limit: usize,
}

/// Expands a strategy. Matrix: the cartesian product of the axes in file
/// order (the first axis varies slowest) minus the combinations an `exclude`
/// entry matches on every axis it lists. All iterations run at once unless
/// `maxConcurrency` says otherwise (Harness's default for every strategy).
pub(crate) fn expand(strategy: &Strategy) -> Expansion {
    let (kinds, max_concurrency) = match strategy {
        Strategy::Matrix {
            axes,
            exclude,
            max_concurrency,
            ..
        } => {
            let kinds = combinations(axes)
                .into_iter()
                .filter(|combination| !exclude.iter().any(|ex| excludes(ex, combination)))
                .map(|combination| {
                    IterationKind::Matrix(
                        combination
                            .into_iter()
                            .map(|(axis, value)| (axis.to_string(), json_to_value(value)))
                            .collect(),
                    )
                })
                .collect();
            (kinds, *max_concurrency)
        }
        Strategy::Parallelism {
            count,
            max_concurrency,
            ..
        } => (
            vec![IterationKind::Plain; *count as usize],
            *max_concurrency,
        ),
        Strategy::Repeat {
            times,
            items,
            max_concurrency,
            ..
        } => {
            let kinds = match items {
                Some(items) => items
                    .iter()
                    .map(|item| IterationKind::Item(json_to_value(item)))
                    .collect(),
                None => vec![IterationKind::Plain; times.unwrap_or(0) as usize],
            };
            (kinds, *max_concurrency)
        }
    };
    let total = kinds.len();
    let limit = match max_concurrency {
        Some(n) if n > 0 => n as usize,
        _ => total.max(1),
    };
    Expansion {
        iterations: kinds
            .into_iter()
            .enumerate()
            .map(|(index, kind)| Iteration { index, total, kind })
            .collect(),
        limit,
    }
}

type Combination<'a> = Vec<(&'a str, &'a serde_json::Value)>;

fn combinations(axes: &[(String, Vec<serde_json::Value>)]) -> Vec<Combination<'_>> {
    let mut out: Vec<Combination<'_>> = vec![Vec::new()];
    for (axis, values) in axes {
        out = out
            .iter()
            .flat_map(|prefix| {
                values.iter().map(move |value| {
                    let mut combination = prefix.clone();
                    combination.push((axis.as_str(), value));
                    combination
                })
            })
            .collect();
    }
    out
}

/// Whether an `exclude` entry matches a combination on every axis it lists.
fn excludes(entry: &[(String, serde_json::Value)], combination: &Combination<'_>) -> bool {
    let values: BTreeMap<&str, &serde_json::Value> = combination.iter().copied().collect();
    !entry.is_empty()
        && entry.iter().all(|(axis, wanted)| {
            values
                .get(axis.as_str())
                .is_some_and(|value| same_value(value, wanted))
        })
}

/// JSON equality, except that a scalar written as `1` matches one written `"1"`.
fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    fn scalar(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    a == b || matches!((scalar(a), scalar(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use rampart_core::Location;
    use serde_json::json;

    use super::*;

    fn matrix(
        axes: Vec<(&str, Vec<serde_json::Value>)>,
        exclude: Vec<Vec<(&str, serde_json::Value)>>,
        max_concurrency: Option<u32>,
    ) -> Strategy {
        Strategy::Matrix {
            axes: axes.into_iter().map(|(a, v)| (a.to_string(), v)).collect(),
            exclude: exclude
                .into_iter()
                .map(|e| e.into_iter().map(|(a, v)| (a.to_string(), v)).collect())
                .collect(),
            max_concurrency,
            loc: Location::default(),
        }
    }

    fn matrix_values(expansion: &Expansion) -> Vec<Vec<(String, String)>> {
        expansion
            .iterations
            .iter()
            .map(|it| match &it.kind {
                IterationKind::Matrix(values) => values
                    .iter()
                    .map(|(a, v)| (a.clone(), v.to_string()))
                    .collect(),
                other => panic!("not a matrix iteration: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn matrix_is_the_cartesian_product_in_axis_order() {
        let e = expand(&matrix(
            vec![
                ("os", vec![json!("linux"), json!("mac")]),
                ("v", vec![json!(1), json!(2)]),
            ],
            vec![],
            None,
        ));
        let pairs: Vec<String> = matrix_values(&e)
            .iter()
            .map(|c| format!("{}-{}", c[0].1, c[1].1))
            .collect();
        assert_eq!(pairs, ["linux-1", "linux-2", "mac-1", "mac-2"]);
        assert_eq!(e.limit, 4, "all iterations at once by default");
        assert!(e.iterations.iter().all(|it| it.total == 4));
        assert_eq!(e.iterations[3].index, 3);
    }

    #[test]
    fn exclude_removes_combinations_matching_all_listed_axes() {
        let e = expand(&matrix(
            vec![
                ("svc", vec![json!("a"), json!("b"), json!("c")]),
                ("env", vec![json!("x"), json!("y")]),
            ],
            vec![
                vec![("svc", json!("a")), ("env", json!("x"))],
                vec![("svc", json!("c"))],
            ],
            Some(2),
        ));
        let pairs: Vec<String> = matrix_values(&e)
            .iter()
            .map(|c| format!("{}-{}", c[0].1, c[1].1))
            .collect();
        assert_eq!(pairs, ["a-y", "b-x", "b-y"]);
        assert_eq!(e.limit, 2);
        assert!(e.iterations.iter().all(|it| it.total == 3));
    }

    #[test]
    fn exclude_matches_numbers_written_as_strings() {
        let e = expand(&matrix(
            vec![("v", vec![json!(1), json!(2)])],
            vec![vec![("v", json!("1"))]],
            None,
        ));
        assert_eq!(
            matrix_values(&e),
            vec![vec![("v".to_string(), "2".to_string())]]
        );
    }

    #[test]
    fn parallelism_and_repeat_expand_with_their_limits() {
        let p = expand(&Strategy::Parallelism {
            count: 3,
            max_concurrency: None,
            loc: Location::default(),
        });
        assert_eq!((p.iterations.len(), p.limit), (3, 3));
        let r = expand(&Strategy::Repeat {
            times: Some(4),
            items: None,
            max_concurrency: Some(1),
            loc: Location::default(),
        });
        assert_eq!((r.iterations.len(), r.limit), (4, 1));
        let items = expand(&Strategy::Repeat {
            times: None,
            items: Some(vec![json!("17"), json!("21")]),
            max_concurrency: None,
            loc: Location::default(),
        });
        assert_eq!(items.limit, 2);
        assert_eq!(
            items.iterations[1].kind,
            IterationKind::Item(Value::String("21".into()))
        );
        let empty = expand(&Strategy::Parallelism {
            count: 0,
            max_concurrency: None,
            loc: Location::default(),
        });
        assert!(empty.iterations.is_empty());
        assert_eq!(empty.limit, 1);
    }

    #[test]
    fn iterations_name_their_values() {
        let it = Iteration {
            index: 1,
            total: 2,
            kind: IterationKind::Matrix(vec![("os".into(), Value::String("linux".into()))]),
        };
        assert_eq!(it.postfix(), "_1");
        assert_eq!(it.display_name("Test"), "Test (os=linux)");
        let plain = Iteration {
            index: 0,
            total: 1,
            kind: IterationKind::Plain,
        };
        assert_eq!(plain.display_name("Test"), "Test_0");
    }
}
