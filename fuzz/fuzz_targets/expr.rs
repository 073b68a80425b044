//! Feeds arbitrary UTF-8 to the expression parsers and evaluates whatever
//! parses against a small scope: no input may panic or overflow the stack.

#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use rampart_pipeline::expr::{Condition, Scope, Template, Value};

/// A few paths of each kind of value, and one secret.
struct FuzzScope;

impl Scope for FuzzScope {
    fn lookup(&self, path: &[&str]) -> Option<Value> {
        let value = match path {
            ["pipeline", "variables", "a"] => Value::from("hello"),
            ["pipeline", "variables", "n"] => Value::from("5"),
            ["pipeline", "sequenceId"] | ["strategy", "iteration"] => Value::from(3.0),
            ["codebase", "branch"] => Value::from("main"),
            ["matrix", "list"] => Value::List(vec![Value::from(1.0), Value::from("two")]),
            ["matrix", "cfg"] => Value::Object(
                [("os".to_owned(), Value::from("linux"))]
                    .into_iter()
                    .collect(),
            ),
            ["pipeline", "variables", "nothing"] => Value::Null,
            _ => return None,
        };
        Some(value)
    }

    fn secret(&self, id: &str) -> Result<String, String> {
        match id {
            "token" => Ok("hunter2".to_owned()),
            _ => Err("no such secret".to_owned()),
        }
    }

    fn is_secret(&self, path: &[&str]) -> bool {
        path == ["pipeline", "variables", "a"]
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(template) = Template::parse(src) {
        let _ = template.render(&FuzzScope);
        let _ = template.evaluate(&FuzzScope);
        let _ = template.references();
    }
    if let Ok(condition) = Condition::parse(src) {
        let _ = condition.evaluate(&FuzzScope);
        let _ = condition.references();
    }
});
