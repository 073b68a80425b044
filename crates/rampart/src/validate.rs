//! `rampart validate`: load and check pipeline files, report every problem.

use std::process::ExitCode;

use anyhow::Context;
use rampart_pipeline::{ValidateOptions, model};

use crate::args::{EXIT_FAILED, EXIT_SUCCESS, ValidateArgs};

pub fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut all_valid = true;
    for path in &args.files {
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read pipeline file {file}"))?;
        match check_source(&file, &source) {
            Ok(summaries) => {
                for line in summaries {
                    println!("{file}: ok: {line}");
                }
            }
            Err(report) => {
                eprint!("{report}");
                all_valid = false;
            }
        }
    }
    Ok(ExitCode::from(if all_valid {
        EXIT_SUCCESS
    } else {
        EXIT_FAILED
    }))
}

/// What this binary can give a run: secrets come from the local encrypted
/// store (a missing one is reported when the run resolves it).
pub fn options() -> ValidateOptions {
    ValidateOptions {
        secrets_available: true,
    }
}

/// Validates every pipeline in `source`; returns one summary line per pipeline,
/// or every diagnostic of the file.
fn check_source(file: &str, source: &str) -> Result<Vec<String>, String> {
    let pipelines = rampart_pipeline::load(file, source, None).map_err(|d| d.to_string())?;
    let options = options();
    let mut summaries = Vec::new();
    let mut report = String::new();
    for pipeline in pipelines {
        match rampart_pipeline::validate(file, pipeline, &options) {
            Ok(valid) => summaries.push(describe(valid.pipeline())),
            Err(diagnostics) => report.push_str(&diagnostics.to_string()),
        }
    }
    if report.is_empty() {
        Ok(summaries)
    } else {
        Err(report)
    }
}

fn describe(pipeline: &model::Pipeline) -> String {
    let mut stages = 0;
    let mut steps = 0;
    for node in &pipeline.stages {
        let group: &[model::Stage] = match node {
            model::StageNode::Stage(stage) => std::slice::from_ref(stage),
            model::StageNode::Parallel { stages, .. } => stages,
        };
        for stage in group {
            stages += 1;
            steps += count_steps(&stage.steps);
        }
    }
    format!(
        "pipeline {} ({stages} stages, {steps} steps)",
        pipeline.identifier
    )
}

fn count_steps(nodes: &[model::StepNode]) -> usize {
    nodes
        .iter()
        .map(|node| match node {
            model::StepNode::Step(_) => 1,
            model::StepNode::Parallel { nodes, .. } => count_steps(nodes),
            model::StepNode::Group(group) => count_steps(&group.steps),
        })
        .sum()
}
