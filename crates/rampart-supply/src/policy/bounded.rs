//! Bounded stand-ins for the regorus builtins that build an array as large
//! as their arguments ask, `numbers.range` and `numbers.range_step`.
//!
//! Policies come from the repository a run builds, and evaluation is
//! limited by regorus's timer, which is read between evaluation steps: one
//! builtin call runs to its end. regorus's `numbers.range(1, 1e8)` builds
//! 10^8 values in one call, minutes and gigabytes here (and its
//! `numbers.range_step` divides by a zero step), so these extensions,
//! looked up before regorus's builtins, make the same arrays but refuse
//! more than [`MAX_RANGE_ELEMENTS`] elements: past that a policy gets an
//! error, never a hang.

use anyhow::bail;
use regorus::{Engine, Value};

/// The most elements one `numbers.range` or `numbers.range_step` call
/// makes: far more than any policy over an SBOM needs, and built in
/// milliseconds.
pub const MAX_RANGE_ELEMENTS: u64 = 1_000_000;

/// Installs the stand-ins in `engine`.
pub(super) fn install(engine: &mut Engine) -> anyhow::Result<()> {
    engine.add_extension("numbers.range".to_string(), 2, Box::new(range))?;
    engine.add_extension("numbers.range_step".to_string(), 3, Box::new(range_step))
}

/// `numbers.range(a, b)`: the integers from `a` to `b`, both included,
/// ascending or descending.
fn range(args: Vec<Value>) -> anyhow::Result<Value> {
    let [from, to] = args.as_slice() else {
        bail!("numbers.range expects 2 arguments");
    };
    stepped("numbers.range", from, to, 1)
}

/// `numbers.range_step(a, b, step)`: from `a` towards `b` by `step`, which
/// must be a positive integer; `b` is included when a step lands on it.
fn range_step(args: Vec<Value>) -> anyhow::Result<Value> {
    let [from, to, step] = args.as_slice() else {
        bail!("numbers.range_step expects 3 arguments");
    };
    match integer("numbers.range_step", step)? {
        Some(step) if step > 0 => stepped("numbers.range_step", from, to, step.unsigned_abs()),
        _ => bail!("numbers.range_step: step must be a positive integer"),
    }
}

/// An integral number's value; `None` for other numbers, which leave the
/// call undefined as regorus's builtins do; an error for anything else.
fn integer(name: &str, value: &Value) -> anyhow::Result<Option<i64>> {
    let Ok(number) = value.as_number() else {
        bail!("{name}: operands must be numbers");
    };
    Ok(if number.is_integer() {
        number.as_i64()
    } else {
        None
    })
}

fn stepped(name: &str, from: &Value, to: &Value, step: u64) -> anyhow::Result<Value> {
    let (Some(from), Some(to)) = (integer(name, from)?, integer(name, to)?) else {
        return Ok(Value::Undefined);
    };
    let span = (i128::from(to) - i128::from(from)).unsigned_abs();
    let elements = span / u128::from(step) + 1;
    if elements > u128::from(MAX_RANGE_ELEMENTS) {
        bail!("{name}: {elements} elements is over the limit of {MAX_RANGE_ELEMENTS}");
    }
    let step = i128::from(step) * if to >= from { 1 } else { -1 };
    let values: Vec<Value> = (0..elements as i128)
        .map(|index| Value::from((i128::from(from) + index * step) as i64))
        .collect();
    Ok(Value::from(values))
}
