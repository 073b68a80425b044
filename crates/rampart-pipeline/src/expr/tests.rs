//! Tests of the expression language: every operator, method, nesting and
//! spacing form, error offsets, number rendering, secret hiding, limits, and
//! property tests that no input panics.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// A scope with a few of each kind of value; paths are looked up by their
/// dotted form, so `matrix.cfg.os` is found only through the object at
/// `matrix.cfg`.
struct TestScope {
    values: BTreeMap<String, Value>,
    secrets: BTreeMap<String, String>,
    secret_paths: Vec<String>,
}

impl Scope for TestScope {
    fn lookup(&self, path: &[&str]) -> Option<Value> {
        self.values.get(&path.join(".")).cloned()
    }
    fn secret(&self, id: &str) -> Result<String, String> {
        self.secrets
            .get(id)
            .cloned()
            .ok_or_else(|| "no such secret in the project".to_owned())
    }
    fn is_secret(&self, path: &[&str]) -> bool {
        self.secret_paths.contains(&path.join("."))
    }
}

fn scope() -> TestScope {
    let s = |v: &str| Value::String(v.to_owned());
    let values: BTreeMap<String, Value> = [
        ("pipeline.variables.a", s("hello")),
        ("pipeline.variables.n", s("5")),
        ("pipeline.variables.deploy", s("true")),
        ("pipeline.variables.id", s("token")),
        ("pipeline.variables.key", s("os")),
        ("pipeline.variables.csv", s("a,b,,c,,")),
        ("pipeline.variables.empty", s("")),
        ("pipeline.variables.and", s("word")),
        ("pipeline.variables.padded", s("  Mixed Case  ")),
        ("pipeline.variables.secretvar", s("s3cr3t-value")),
        ("pipeline.variables.nothing", Value::Null),
        ("pipeline.variables.pi", Value::Number(3.5)),
        ("pipeline.sequenceId", Value::Number(42.0)),
        ("strategy.iteration", Value::Number(0.0)),
        ("codebase.branch", s("main")),
        (
            "matrix.cfg",
            Value::Object(
                [
                    ("os".to_owned(), s("linux")),
                    ("arch".to_owned(), s("amd64")),
                ]
                .into_iter()
                .collect(),
            ),
        ),
        (
            "matrix.list",
            Value::List(vec![Value::Number(1.0), s("two")]),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let secrets = [("token", "hunter2"), ("org.x", "orgval")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    TestScope {
        values,
        secrets,
        secret_paths: vec!["pipeline.variables.secretvar".to_owned()],
    }
}

fn render(src: &str) -> String {
    Template::parse(src)
        .unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.offset))
        .render(&scope())
        .unwrap_or_else(|e| panic!("render {src:?}: {e}"))
}

fn eval(src: &str) -> Value {
    Template::parse(src)
        .unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.offset))
        .evaluate(&scope())
        .unwrap_or_else(|e| panic!("evaluate {src:?}: {e}"))
}

fn eval_err(src: &str) -> String {
    match Template::parse(src)
        .unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.offset))
        .evaluate(&scope())
    {
        Ok(v) => panic!("{src:?} evaluated to {v:?}, expected an error"),
        Err(e) => e.message,
    }
}

fn parse_err(src: &str) -> ExprError {
    match Template::parse(src) {
        Ok(t) => panic!("{src:?} parsed to {t:?}, expected an error"),
        Err(e) => e,
    }
}

fn cond(src: &str) -> bool {
    Condition::parse(src)
        .unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.offset))
        .evaluate(&scope())
        .unwrap_or_else(|e| panic!("evaluate {src:?}: {e}"))
}

fn cond_err(src: &str) -> String {
    match Condition::parse(src)
        .unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.offset))
        .evaluate(&scope())
    {
        Ok(v) => panic!("{src:?} evaluated to {v}, expected an error"),
        Err(e) => e.message,
    }
}

fn cond_parse_err(src: &str) -> ExprError {
    match Condition::parse(src) {
        Ok(c) => panic!("{src:?} parsed to {c:?}, expected an error"),
        Err(e) => e,
    }
}

fn num(n: f64) -> Value {
    Value::Number(n)
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

// ---- literal text and rendering -------------------------------------------

#[test]
fn literal_text_with_angle_brackets_and_plus_stays_literal() {
    let src = "if [ $a -gt 1 ]; then echo '<a>' > out < in + 1; fi <\n+ >";
    let t = Template::parse(src).unwrap();
    assert!(t.is_literal());
    assert_eq!(t.render(&scope()).unwrap(), src);
    assert_eq!(t.evaluate(&scope()).unwrap(), string(src));
    assert!(t.references().is_empty());
    assert_eq!(t.source(), src);
}

#[test]
fn empty_template_is_literal_and_renders_empty() {
    let t = Template::parse("").unwrap();
    assert!(t.is_literal());
    assert_eq!(t.render(&scope()).unwrap(), "");
}

#[test]
fn text_around_expressions_is_kept() {
    assert_eq!(
        render("a <+pipeline.variables.a> b <+pipeline.sequenceId>!"),
        "a hello b 42!"
    );
    assert_eq!(render("<+pipeline.variables.a>=3"), "hello=3");
    assert_eq!(
        render("<+pipeline.variables.a><+pipeline.variables.a>"),
        "hellohello"
    );
    assert!(!Template::parse("x <+a.b>").unwrap().is_literal());
}

#[test]
fn single_expression_yields_typed_value_and_anything_else_a_string() {
    assert_eq!(eval("<+pipeline.sequenceId>"), num(42.0));
    assert_eq!(eval("<+1 == 1>"), Value::Bool(true));
    assert_eq!(eval("<+pipeline.variables.nothing>"), Value::Null);
    assert_eq!(eval(" <+pipeline.sequenceId>"), string(" 42"));
    assert_eq!(
        eval("<+pipeline.sequenceId><+pipeline.sequenceId>"),
        string("4242")
    );
}

#[test]
fn numbers_render_like_harness() {
    assert_eq!(num(3.0).to_string(), "3");
    assert_eq!(num(-0.0).to_string(), "0");
    assert_eq!(num(2.5).to_string(), "2.5");
    assert_eq!(num(-7.0).to_string(), "-7");
    assert_eq!(num(1e20).to_string(), "100000000000000000000");
    assert_eq!(num(0.1 + 0.2).to_string(), "0.30000000000000004");
    assert_eq!(num(f64::NAN).to_string(), "NaN");
    assert_eq!(num(f64::INFINITY).to_string(), "Infinity");
    assert_eq!(num(f64::NEG_INFINITY).to_string(), "-Infinity");
    assert_eq!(render("<+strategy.iteration + 1>"), "1");
    assert_eq!(render("<+pipeline.variables.pi * 2>"), "7");
    assert_eq!(render("<+1.50>"), "1.5");
}

#[test]
fn other_values_render_as_text_or_compact_json() {
    assert_eq!(Value::Null.to_string(), "null");
    assert_eq!(Value::Bool(false).to_string(), "false");
    assert_eq!(string("raw \"text\"").to_string(), "raw \"text\"");
    let obj = Value::Object(
        [
            (
                "k".to_owned(),
                Value::List(vec![num(1.0), string("a\"\n\u{1}"), Value::Null]),
            ),
            ("n".to_owned(), num(f64::NAN)),
        ]
        .into_iter()
        .collect(),
    );
    assert_eq!(obj.to_string(), r#"{"k":[1,"a\"\n\u0001",null],"n":null}"#);
    assert_eq!(render("<+matrix.list>"), r#"[1,"two"]"#);
    assert_eq!(render("<+pipeline.variables.nothing>"), "null");
}

#[test]
fn values_convert_from_json_and_expose_helpers() {
    let json = serde_json::json!({"a": [1, 2.5, "x", true, null], "b": {"c": "d"}});
    let v = Value::from(json);
    let Value::Object(map) = &v else {
        panic!("expected an object, got {v:?}")
    };
    assert_eq!(
        map["a"],
        Value::List(vec![
            num(1.0),
            num(2.5),
            string("x"),
            Value::Bool(true),
            Value::Null
        ])
    );
    assert_eq!(
        map["b"],
        Value::Object([("c".to_owned(), string("d"))].into_iter().collect())
    );
    assert_eq!(string("x").as_str(), Some("x"));
    assert_eq!(num(1.0).as_str(), None);
    assert_eq!(string(" 2.5 ").as_number(), Some(2.5));
    assert_eq!(string("inf").as_number(), None);
    assert_eq!(string("1e3").as_number(), Some(1000.0));
    assert_eq!(string("-.5").as_number(), Some(-0.5));
    assert_eq!(string("1e").as_number(), None);
    assert_eq!(string("").as_number(), None);
    assert_eq!(Value::from("s"), string("s"));
    assert_eq!(Value::from(2.0), num(2.0));
    assert_eq!(Value::from(true), Value::Bool(true));
    assert_eq!(Value::List(vec![]).type_name(), "list");
}

// ---- spacing and nesting -------------------------------------------------

#[test]
fn spaced_forms_parse() {
    assert_eq!(render("<+ secrets.getValue(\"token\") >"), "hunter2");
    assert_eq!(render("<+   pipeline.variables.a   >"), "hello");
    assert_eq!(render("<+\n pipeline .variables. a\t>"), "hello");
    assert_eq!(
        render("<+ pipeline.variables.a . concat ( 'x' , 'y' ) >"),
        "helloxy"
    );
}

#[test]
fn nested_expressions_evaluate_inside_out() {
    assert_eq!(
        render("<+ <+pipeline.variables.a>.concat(\"x\") >"),
        "hellox"
    );
    assert_eq!(
        render("<+secrets.getValue(<+pipeline.variables.id>)>"),
        "hunter2"
    );
    assert_eq!(render("<+<+<+pipeline.variables.a>>>"), "hello");
    assert_eq!(render("<+ <+pipeline.variables.n> gt 3 >"), "true");
    assert_eq!(render("<+matrix.cfg[<+pipeline.variables.key>]>"), "linux");
    assert_eq!(render("<+matrix.cfg.<+pipeline.variables.key>>"), "linux");
    assert_eq!(
        render("<+ <+matrix.cfg>.<+pipeline.variables.key> >"),
        "linux"
    );
}

#[test]
fn greater_than_inside_a_string_does_not_close_the_expression() {
    assert_eq!(render("<+ \"a>b\" >"), "a>b");
    assert_eq!(render("<+ 'x > y'.length() >"), "5");
    assert_eq!(render("<+ '<' + '+' >"), "<+");
}

#[test]
fn string_literals_holding_expressions_are_interpolated() {
    let src = "<+secrets.getValue(\"<+pipeline.variables.id>\")>";
    assert_eq!(render(src), "hunter2");
    assert_eq!(
        Template::parse(src).unwrap().references(),
        vec![
            Reference::Secret {
                id: None,
                offset: 2
            },
            Reference::Path {
                segments: vec!["pipeline".into(), "variables".into(), "id".into()],
                offset: 22,
            },
        ]
    );
    assert_eq!(
        render("<+ \"v<+pipeline.sequenceId>-<+strategy.iteration + 1>!\" >"),
        "v42-1!"
    );
    assert_eq!(eval("<+ \"<+pipeline.sequenceId>\" >"), string("42"));
    assert_eq!(eval("<+ '<+pipeline.sequenceId>'.length() >"), num(2.0));
    assert_eq!(eval("<+ \"a<+ \"b<+'c'>\" >d\" >"), string("abcd"));
    assert_eq!(eval(r#"<+ "\<+x>" >"#), string("<+x>"));
    assert!(cond("\"<+codebase.branch>\" == \"main\""));
    assert!(cond("'<+pipeline.variables.n>' > 3"));
    // The inner `<+` has no `>` before the closing quote, so that quote
    // opens a string inside it.
    let e = parse_err("<+ \"<+a.b\" >");
    assert_eq!(e.offset, 9);
    assert!(
        e.message.contains("inside the `<+` at byte 4"),
        "{}",
        e.message
    );
    let deep = format!("<+{}a.b{}>", "\"<+".repeat(100), ">\"".repeat(100));
    assert!(parse_err(&deep).message.contains("nested more than 64"));
}

#[test]
fn greater_than_inside_brackets_closes_as_harness_does() {
    // `<+a > 3>` is the expression `a` then the text ` 3>`.
    assert_eq!(render("<+pipeline.variables.n > 3>"), "5 3>");
    // Inside parentheses the `>` still closes, and the error says what to write.
    let e = parse_err("<+ (pipeline.variables.n > 3) >");
    assert_eq!(e.offset, 25);
    assert!(e.message.contains("`gt`"), "{}", e.message);
}

// ---- paths and indexing --------------------------------------------------

#[test]
fn paths_index_into_objects_and_lists() {
    assert_eq!(render("<+matrix.cfg.os>"), "linux");
    assert_eq!(render("<+matrix.cfg[\"arch\"]>"), "amd64");
    assert_eq!(render("<+matrix.cfg['arch']>"), "amd64");
    assert_eq!(render("<+matrix.list[0]>"), "1");
    assert_eq!(render("<+matrix.list[1]>"), "two");
    assert_eq!(render("<+matrix.list[2 - 1]>"), "two");
    assert_eq!(render("<+(matrix.cfg).os>"), "linux");
    assert_eq!(render("<+pipeline.variables.csv.split(\",\")[1]>"), "b");
    assert_eq!(render("<+pipeline.variables[\"a\"]>"), "hello");
}

#[test]
fn bad_indexes_are_errors_naming_what_was_there() {
    let e = eval_err("<+matrix.list[5]>");
    assert!(
        e.contains("index `5`") && e.contains("a list of 2 items"),
        "{e}"
    );
    let e = eval_err("<+matrix.cfg.nope>");
    assert!(
        e.contains("no key `nope`") && e.contains("matrix.cfg.nope"),
        "{e}"
    );
    let e = eval_err("<+matrix.cfg.os.deeper>");
    assert!(e.contains("has no fields"), "{e}");
    let e = eval_err("<+matrix.cfg[matrix.list]>");
    assert!(e.contains("must be a string or a number"), "{e}");
}

#[test]
fn unknown_paths_are_errors_naming_the_path() {
    let e = eval_err("x <+pipeline.variables.nope> y");
    assert!(
        e.contains("unknown expression path `pipeline.variables.nope`"),
        "{e}"
    );
    assert!(e.starts_with("`<+pipeline.variables.nope>`"), "{e}");
}

#[test]
fn word_operators_are_names_after_a_dot() {
    assert_eq!(render("<+pipeline.variables.and>"), "word");
    assert_eq!(
        render("<+pipeline.variables.and == \"word\" and true>"),
        "true"
    );
}

#[test]
fn hyphen_is_not_part_of_a_name() {
    let t = Template::parse("<+pipeline.variables.a-b>").unwrap();
    let paths: Vec<_> = t
        .references()
        .into_iter()
        .map(|r| match r {
            Reference::Path { segments, .. } => segments.join("."),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(paths, ["pipeline.variables.a", "b"]);
}

// ---- operators -------------------------------------------------------------

#[test]
fn plus_adds_numbers_and_joins_text() {
    assert_eq!(eval("<+1 + 2>"), num(3.0));
    assert_eq!(eval("<+\"a\" + 1>"), string("a1"));
    assert_eq!(eval("<+1 + \"a\">"), string("1a"));
    assert_eq!(eval("<+pipeline.variables.n + 1>"), string("51"));
    assert_eq!(eval("<+\"x\" + null>"), string("xnull"));
    let e = eval_err("<+true + 1>");
    assert!(
        e.contains("cannot add boolean `true` and number `1`"),
        "{e}"
    );
}

#[test]
fn arithmetic_operators_take_numbers_and_numeric_strings() {
    assert_eq!(eval("<+5 - 2>"), num(3.0));
    assert_eq!(eval("<+pipeline.variables.n - 2>"), num(3.0));
    assert_eq!(eval("<+2 * 3>"), num(6.0));
    assert_eq!(
        eval("<+pipeline.variables.n * pipeline.variables.n>"),
        num(25.0)
    );
    assert_eq!(eval("<+7 / 2>"), num(3.0));
    assert_eq!(eval("<+-7 / 2>"), num(-3.0));
    assert_eq!(eval("<+7.5 / 2.5>"), num(3.0));
    assert_eq!(eval("<+7 / 2.5>"), num(2.8));
    assert_eq!(eval("<+7 % 3>"), num(1.0));
    assert_eq!(eval("<+-7 % 3>"), num(-1.0));
    assert_eq!(eval("<+-pipeline.variables.n>"), num(-5.0));
    assert_eq!(eval("<+- -3>"), num(3.0));
    let e = eval_err("<+\"abc\" - 1>");
    assert!(
        e.contains("`-` needs two numbers") && e.contains("string \"abc\""),
        "{e}"
    );
    let e = eval_err("<+-true>");
    assert!(
        e.contains("unary `-` needs a number, found boolean `true`"),
        "{e}"
    );
}

#[test]
fn division_by_zero_is_an_error() {
    assert!(eval_err("<+1 / 0>").contains("division by zero"));
    assert!(eval_err("<+1 % 0>").contains("division by zero"));
    assert!(eval_err("<+1 / \"0.0\">").contains("division by zero"));
}

#[test]
fn equality_compares_loosely_across_numbers_strings_and_booleans() {
    for (src, want) in [
        ("1 == 1.0", true),
        ("pipeline.variables.n == 5", true),
        ("5 == pipeline.variables.n", true),
        ("\"5.0\" == 5", true),
        ("\"abc\" == \"abc\"", true),
        ("\"abc\" == \"ABC\"", false),
        ("\"a\" == 1", false),
        ("null == null", true),
        ("null == \"\"", false),
        ("true == \"TRUE\"", true),
        ("false == \"true\"", false),
        ("true == 1", false),
        ("matrix.list == matrix.list", true),
        ("1 eq 1", true),
        ("1 != 2", true),
        ("1 ne 1", false),
        ("pipeline.variables.deploy == true", true),
    ] {
        assert_eq!(eval(&format!("<+{src}>")), Value::Bool(want), "{src}");
    }
}

#[test]
fn ordering_compares_numbers_numeric_strings_and_strings() {
    for (src, want) in [
        ("2 < 10", true),
        ("2 <= 2", true),
        ("3 gt 2", true),
        ("3 ge 4", false),
        ("1 lt 2", true),
        ("2 le 1", false),
        ("pipeline.variables.n lt 10", true),
        ("\"b\" lt \"a\"", false),
        ("\"a\" lt \"b\"", true),
    ] {
        assert_eq!(eval(&format!("<+{src}>")), Value::Bool(want), "{src}");
    }
    // Outside brackets, `>` and `>=` compare.
    assert!(cond("\"10\" > \"9\""));
    assert!(cond("\"b\" > \"a\""));
    assert!(cond("<+pipeline.variables.n> >= 5"));
    assert!(!cond("<+pipeline.variables.n> > 5"));
    let e = eval_err("<+\"abc\" lt 3>");
    assert!(
        e.contains("cannot compare string \"abc\" with number `3` using `<`"),
        "{e}"
    );
    let e = eval_err("<+true lt false>");
    assert!(e.contains("cannot compare"), "{e}");
}

#[test]
fn logic_operators_short_circuit_and_read_truthiness() {
    assert_eq!(eval("<+true && false>"), Value::Bool(false));
    assert_eq!(eval("<+true and \"TRUE\">"), Value::Bool(true));
    assert_eq!(eval("<+false || \"true\">"), Value::Bool(true));
    assert_eq!(eval("<+false or null>"), Value::Bool(false));
    assert_eq!(eval("<+!true>"), Value::Bool(false));
    assert_eq!(eval("<+not false>"), Value::Bool(true));
    assert_eq!(eval("<+!!1>"), Value::Bool(true));
    assert_eq!(eval("<+!0>"), Value::Bool(true));
    // The right side is never evaluated, so its unknown path is no error.
    assert_eq!(eval("<+false && nope.nope>"), Value::Bool(false));
    assert_eq!(eval("<+true || nope.nope>"), Value::Bool(true));
    assert_eq!(
        eval("<+false && nope.nope && nope.nope>"),
        Value::Bool(false)
    );
    let e = eval_err("<+!\"abc\">");
    assert!(
        e.contains("`!` expects a boolean") && e.contains("\"abc\""),
        "{e}"
    );
    let e = eval_err("<+true && matrix.list>");
    assert!(
        e.contains("`&&` expects a boolean") && e.contains("a list"),
        "{e}"
    );
}

#[test]
fn ternary_picks_a_branch_and_nests_to_the_right() {
    assert_eq!(eval("<+true ? \"y\" : \"n\">"), string("y"));
    assert_eq!(eval("<+pipeline.variables.deploy ? 1 : 2>"), num(1.0));
    assert_eq!(eval("<+false ? 1 : true ? 2 : 3>"), num(2.0));
    assert_eq!(eval("<+1 == 2 ? nope.nope : \"safe\">"), string("safe"));
    assert!(eval_err("<+\"maybe\" ? 1 : 2>").contains("the condition of `? :`"));
}

#[test]
fn precedence_and_associativity_follow_jexl() {
    assert_eq!(eval("<+1 + 2 * 3>"), num(7.0));
    assert_eq!(eval("<+(1 + 2) * 3>"), num(9.0));
    assert_eq!(eval("<+10 - 4 - 3>"), num(3.0));
    assert_eq!(eval("<+2 * 3 % 4>"), num(2.0));
    assert_eq!(eval("<+1 + 2 == 3 && !false>"), Value::Bool(true));
    assert_eq!(eval("<+true || false && false>"), Value::Bool(true));
    assert_eq!(eval("<+1 lt 2 == true>"), Value::Bool(true));
    assert_eq!(eval("<+\"a\" + 1 + 2>"), string("a12"));
    assert_eq!(eval("<+1 + 2 + \"a\">"), string("3a"));
    assert_eq!(eval("<+-2 * -3>"), num(6.0));
}

// ---- methods ---------------------------------------------------------------

#[test]
fn string_methods_behave_like_java() {
    for (src, want) in [
        ("'ab'.concat('c', 1, true)", string("abc1true")),
        ("'hello'.contains('ell')", Value::Bool(true)),
        ("'hello'.contains('z')", Value::Bool(false)),
        ("'hello'.startsWith('he')", Value::Bool(true)),
        ("'hello'.endsWith('lo')", Value::Bool(true)),
        ("'hello'.endsWith('he')", Value::Bool(false)),
        ("'héllo'.length()", num(5.0)),
        ("'AbC'.toLowerCase()", string("abc")),
        ("'AbC'.toUpperCase()", string("ABC")),
        ("pipeline.variables.padded.trim()", string("Mixed Case")),
        ("'a-b-c'.replace('-', '+')", string("a+b+c")),
        ("'hello'.substring(1)", string("ello")),
        ("'hello'.substring(1, 3)", string("el")),
        ("'héllo'.substring(1, 2)", string("é")),
        ("'hello'.substring(5)", string("")),
        ("'hello'.indexOf('l')", num(2.0)),
        ("'héllo'.indexOf('l')", num(2.0)),
        ("'hello'.lastIndexOf('l')", num(3.0)),
        ("'hello'.indexOf('z')", num(-1.0)),
        ("'a'.equals('a')", Value::Bool(true)),
        ("'5'.equals(5)", Value::Bool(false)),
        ("'MAIN'.equalsIgnoreCase('main')", Value::Bool(true)),
        ("''.isEmpty()", Value::Bool(true)),
        ("'x'.isEmpty()", Value::Bool(false)),
        ("pipeline.sequenceId.toString()", string("42")),
        ("pipeline.sequenceId.concat('x')", string("42x")),
        ("pipeline.sequenceId.toString().length()", num(2.0)),
        ("true.toString()", string("true")),
        ("'a'.concat('b').toUpperCase().concat('c')", string("ABc")),
    ] {
        assert_eq!(eval(&format!("<+{src}>")), want, "{src}");
    }
}

#[test]
fn split_follows_java_without_regular_expressions() {
    let list = |items: &[&str]| Value::List(items.iter().map(|s| string(s)).collect());
    assert_eq!(
        eval("<+pipeline.variables.csv.split(\",\")>"),
        list(&["a", "b", "", "c"])
    );
    assert_eq!(eval("<+'a.b'.split('.')>"), list(&["a", "b"]));
    assert_eq!(eval(r#"<+'a.b'.split("\\.")>"#), list(&["a", "b"]));
    assert_eq!(eval(r#"<+'a|b'.split("\\|")>"#), list(&["a", "b"]));
    assert_eq!(eval("<+'abc'.split('')>"), list(&["a", "b", "c"]));
    assert_eq!(eval("<+''.split(',')>"), list(&[""]));
    assert_eq!(eval("<+',,'.split(',')>"), list(&[]));
    assert_eq!(eval("<+'a, b'.split(', ').length()>"), num(2.0));
    assert_eq!(render("<+'x,y'.split(',')>"), r#"["x","y"]"#);
}

#[test]
fn collection_methods_work_on_lists_and_objects() {
    assert_eq!(eval("<+matrix.list.contains(1)>"), Value::Bool(true));
    assert_eq!(eval("<+matrix.list.contains('1')>"), Value::Bool(true));
    assert_eq!(eval("<+matrix.list.contains(3)>"), Value::Bool(false));
    assert_eq!(eval("<+matrix.cfg.contains('os')>"), Value::Bool(true));
    assert_eq!(eval("<+matrix.list.length()>"), num(2.0));
    assert_eq!(eval("<+matrix.cfg.size()>"), num(2.0));
    assert_eq!(eval("<+matrix.list.isEmpty()>"), Value::Bool(false));
    assert_eq!(
        eval("<+matrix.list.equals(matrix.list)>"),
        Value::Bool(true)
    );
    assert_eq!(eval("<+matrix.list.toString()>"), string(r#"[1,"two"]"#));
}

#[test]
fn method_errors_say_what_they_needed() {
    let e = eval_err("<+matrix.list.toLowerCase()>");
    assert!(
        e.contains("`toLowerCase()` needs a string, found a list of 2 items"),
        "{e}"
    );
    let e = eval_err("<+pipeline.variables.nothing.trim()>");
    assert!(e.contains("cannot call `trim()` on null"), "{e}");
    let e = eval_err("<+'abc'.substring(2, 1)>");
    assert!(
        e.contains("`substring(2, 1)` is out of range for a string of 3"),
        "{e}"
    );
    let e = eval_err("<+'abc'.substring(-1)>");
    assert!(e.contains("out of range"), "{e}");
    let e = eval_err("<+'abc'.substring(1.5)>");
    assert!(e.contains("whole-number positions"), "{e}");
}

#[test]
fn unknown_methods_and_wrong_arity_are_parse_errors() {
    let e = parse_err("<+ pipeline.name.frob() >");
    assert_eq!(e.offset, 17);
    assert!(e.message.contains("unknown method `frob`") && e.message.contains("concat"));
    let e = parse_err("<+ 'a'.trim(1) >");
    assert_eq!(e.offset, 7);
    assert!(
        e.message.contains("`trim` takes no arguments, found 1"),
        "{}",
        e.message
    );
    let e = parse_err("<+ 'a'.replace('a') >");
    assert!(
        e.message.contains("takes two arguments, found 1"),
        "{}",
        e.message
    );
    let e = parse_err("<+ 'a'.concat() >");
    assert!(e.message.contains("one or more arguments"), "{}", e.message);
}

// ---- secrets ---------------------------------------------------------------

#[test]
fn secrets_are_read_through_the_scope_with_literal_or_computed_ids() {
    assert_eq!(render("<+secrets.getValue(\"token\")>"), "hunter2");
    assert_eq!(render("<+secrets.getValue('org.x')>"), "orgval");
    assert_eq!(render("<+secrets.getValue(\"tok\" + \"en\")>"), "hunter2");
    assert_eq!(render("<+secrets.getValue(\"token\").length()>"), "7");
    let e = eval_err("<+secrets.getValue(\"missing\")>");
    assert!(
        e.contains("cannot read secret `missing`: no such secret"),
        "{e}"
    );
    let e = eval_err("<+secrets.getValue(\"  \")>");
    assert!(e.contains("empty secret id"), "{e}");
    let e = eval_err("<+secrets.getValue(matrix.list)>");
    assert!(e.contains("needs a secret id string"), "{e}");
    let e = parse_err("<+secrets.getValue()>");
    assert_eq!(e.offset, 10);
    assert!(e.message.contains("exactly one argument"), "{}", e.message);
    assert!(
        parse_err("<+secrets.getValue(1, 2)>")
            .message
            .contains("found 2")
    );
}

#[test]
fn errors_never_quote_values_derived_from_secrets() {
    for src in [
        "<+secrets.getValue(\"token\").substring(50)>",
        "<+secrets.getValue(\"token\") - 1>",
        "<+secrets.getValue(\"token\") lt 3>",
        "<+!secrets.getValue(\"token\")>",
        "<+secrets.getValue(\"token\").concat(\"x\").split(\",\")[9]>",
        "<+matrix.cfg[secrets.getValue(\"token\")]>",
        "<+pipeline.variables[secrets.getValue(\"token\")]>",
        "<+secrets.getValue(secrets.getValue(\"token\"))>",
        "<+pipeline.variables.secretvar - 1>",
        "<+pipeline.variables.secretvar.toUpperCase() lt 1>",
    ] {
        let e = eval_err(src);
        assert!(
            !e.contains("hunter2") && !e.contains("s3cr3t") && !e.contains("S3CR3T"),
            "{src}: {e}"
        );
    }
    let e = cond_err("<+secrets.getValue(\"token\")>");
    assert!(!e.contains("hunter2") && e.contains("hidden"), "{e}");
}

// ---- references ------------------------------------------------------------

#[test]
fn references_list_paths_and_secrets_with_byte_offsets() {
    let src = "é <+pipeline.variables.a> <+secrets.getValue(\"x\")> \
               <+ secrets.getValue(<+pipeline.variables.id>) > <+matrix.cfg[<+stage.name>]>";
    let t = Template::parse(src).unwrap();
    let at = |needle: &str| src.find(needle).unwrap();
    let path = |s: &str, offset| Reference::Path {
        segments: s.split('.').map(str::to_owned).collect(),
        offset,
    };
    assert_eq!(
        t.references(),
        vec![
            path("pipeline.variables.a", at("pipeline.variables.a")),
            Reference::Secret {
                id: Some("x".to_owned()),
                offset: at("secrets.getValue(\"x\")"),
            },
            Reference::Secret {
                id: None,
                offset: at("secrets.getValue(<+"),
            },
            path("pipeline.variables.id", at("pipeline.variables.id")),
            path("matrix.cfg", at("matrix.cfg")),
            path("stage.name", at("stage.name")),
        ]
    );
}

#[test]
fn references_include_every_operand_and_argument() {
    let c = Condition::parse(
        "<+codebase.branch> == \"main\" && (a.b ? c.d[\"e\"] : f.g.concat(h.i)) || !j.k[l.m]",
    )
    .unwrap();
    let paths: Vec<String> = c
        .references()
        .into_iter()
        .map(|r| match r {
            Reference::Path { segments, .. } => segments.join("."),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        paths,
        [
            "codebase.branch",
            "a.b",
            "c.d.e",
            "f.g",
            "h.i",
            "j.k",
            "l.m"
        ]
    );
}

// ---- conditions --------------------------------------------------------------

#[test]
fn conditions_combine_bracketed_values_with_jexl_operators() {
    assert!(cond(
        "<+codebase.branch> == \"main\" && <+pipeline.variables.deploy> == \"true\""
    ));
    assert!(cond("<+pipeline.variables.n> > 3"));
    assert!(cond("true"));
    assert!(!cond("false"));
    assert!(cond("!(<+codebase.branch> == \"x\")"));
    assert!(cond("<+pipeline.variables.deploy>"));
    assert!(cond("<+ <+pipeline.variables.n> gt 3 >"));
    assert!(cond("<+<+codebase.branch> == \"main\">"));
    assert!(cond("codebase.branch == 'main'"));
    assert!(cond(
        "\n  <+codebase.branch> != \"dev\"\n  and <+pipeline.sequenceId> >= 42\n"
    ));
    assert!(!cond("<+pipeline.variables.nothing>"));
    assert!(cond("<+pipeline.sequenceId>"));
    assert!(cond("' TRUE '"));
    assert!(!cond("\"False\""));
    assert!(cond("<+codebase.branch>.startsWith(\"ma\")"));
    // The form Harness's documentation uses: `>` straight before `==`.
    assert!(cond("<+codebase.branch>==\"main\""));
}

#[test]
fn conditions_that_are_not_boolean_are_errors_saying_what_they_got() {
    let e = cond_err("<+pipeline.variables.a>");
    assert!(
        e.contains("did not evaluate to a boolean") && e.contains("string \"hello\""),
        "{e}"
    );
    let e = cond_err("<+matrix.list>");
    assert!(e.contains("got a list of 2 items"), "{e}");
    let e = cond_err("<+nope.nope> == 1");
    assert!(e.contains("unknown expression path `nope.nope`"), "{e}");
}

#[test]
fn condition_syntax_errors_have_offsets() {
    let e = cond_parse_err("");
    assert!(e.message.contains("empty condition"), "{}", e.message);
    let e = cond_parse_err("   ");
    assert_eq!(e.offset, 3);
    let e = cond_parse_err("<+a.b> ==");
    assert_eq!(e.offset, 9);
    assert!(
        e.message.contains("found the end of the input"),
        "{}",
        e.message
    );
    let e = cond_parse_err("<+a.b> <+c.d>");
    assert_eq!(e.offset, 7);
    assert!(e.message.contains("expected an operator"), "{}", e.message);
    let e = cond_parse_err("x == 1 && <+a.b == 2");
    assert_eq!(e.offset, 10);
    assert!(e.message.contains("never closed"), "{}", e.message);
    let e = cond_parse_err("(a.b == 1");
    assert!(e.message.contains("`)`"), "{}", e.message);
    let e = cond_parse_err("a ? b");
    assert!(e.message.contains("`:`"), "{}", e.message);
}

// ---- lexical details and parse errors --------------------------------------

#[test]
fn string_literals_support_escapes() {
    assert_eq!(eval(r#"<+ "a\"b" >"#), string("a\"b"));
    assert_eq!(eval(r"<+ 'it\'s' >"), string("it's"));
    assert_eq!(eval(r#"<+ "\u0041\n\t\\" >"#), string("A\n\t\\"));
    assert_eq!(eval(r#"<+ "\d+" >"#), string("\\d+"));
    assert_eq!(eval(r#"<+ 'say "hi"' >"#), string("say \"hi\""));
    let e = parse_err(r#"<+ "\u12" >"#);
    assert_eq!(e.offset, 4);
    assert!(e.message.contains("unicode escape"), "{}", e.message);
}

#[test]
fn unclosed_expressions_report_the_offset_of_their_opening() {
    let e = parse_err("echo <+pipeline.variables.a");
    assert_eq!(e.offset, 5);
    assert!(e.message.contains("never closed"), "{}", e.message);
    assert_eq!(parse_err("ok <+a.b> then <+c.d").offset, 15);
    assert_eq!(parse_err("é <+a.b").offset, 3);
    // The inner `<+` is closed; the outer one is not.
    assert_eq!(parse_err("<+ <+a.b >").offset, 0);
}

#[test]
fn syntax_errors_say_what_was_expected_and_found_where() {
    let cases: &[(&str, usize, &str)] = &[
        ("<+>", 2, "expected an expression after `<+`"),
        ("<+ a b >", 5, "found `b`"),
        ("<+ \"abc >", 3, "unterminated string"),
        ("<+ a # b >", 5, "unexpected character '#'"),
        ("<+ a = b >", 5, "did you mean `==`"),
        ("<+ a & b >", 5, "did you mean `&&`"),
        ("<+ a | b >", 5, "did you mean `||`"),
        ("<+ a. >", 6, "expected a name after `.`"),
        ("<+ foo(1) >", 3, "no free functions"),
        ("<+ a[1 >", 7, "`]`"),
        ("<+ 1 + >", 7, "expected a value"),
        ("<+ é >", 3, "unexpected character 'é'"),
        ("<+ a.0 >", 5, "expected a name after `.`"),
        ("<+ (1 >", 6, "`gt` or `ge`"),
        ("<+ a =~ 'x' >", 5, "`=~` operator"),
        ("<+ a !~ 'x' >", 5, "`!~` operator"),
        ("<+ a =^ 'x' >", 5, "`startsWith`"),
    ];
    for (src, offset, needle) in cases {
        let e = parse_err(src);
        assert_eq!(e.offset, *offset, "{src}: {}", e.message);
        assert!(e.message.contains(needle), "{src}: {}", e.message);
    }
}

// ---- limits ------------------------------------------------------------------

#[test]
fn nesting_is_capped_with_a_clear_error() {
    let ok = format!("{}1{}", "(".repeat(60), ")".repeat(60));
    assert!(cond(&format!("{ok} == 1")));
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let e = cond_parse_err(&deep);
    assert!(
        e.message.contains("nested more than 64 levels"),
        "{}",
        e.message
    );
    let e = cond_parse_err(&format!("{}true", "!".repeat(100_000)));
    assert!(
        e.message.contains("nested more than 64 levels"),
        "{}",
        e.message
    );
    let brackets = format!("{}a.b{}", "<+".repeat(100_000), ">".repeat(100_000));
    assert!(parse_err(&brackets).message.contains("nested more than"));
    assert_eq!(
        render(&format!(
            "{}pipeline.variables.a{}",
            "<+".repeat(60),
            ">".repeat(60)
        )),
        "hello"
    );
    let e = parse_err(&"<+".repeat(100_000));
    assert!(e.message.contains("never closed"), "{}", e.message);
}

#[test]
fn long_flat_chains_evaluate_without_deep_recursion() {
    let sum = format!("<+1{}>", " + 1".repeat(50_000));
    assert_eq!(eval(&sum), num(50_001.0));
    let calls = format!("<+' x '{}>", ".trim()".repeat(50_000));
    assert_eq!(eval(&calls), string("x"));
    let ands = format!("true{}", " && true".repeat(50_000));
    assert!(cond(&ands));
}

#[test]
fn oversized_sources_are_rejected() {
    let big = "x".repeat(MAX_SOURCE_LEN + 1);
    assert_eq!(parse_err(&big).offset, MAX_SOURCE_LEN);
    assert_eq!(cond_parse_err(&big).offset, MAX_SOURCE_LEN);
    assert!(Template::parse(&"x".repeat(MAX_SOURCE_LEN)).is_ok());
}

// ---- properties ------------------------------------------------------------

/// Parses `src` both ways and evaluates whatever parsed; panics are the failure.
fn exercise(src: &str) {
    let scope = scope();
    if let Ok(t) = Template::parse(src) {
        let _ = t.render(&scope);
        let _ = t.evaluate(&scope);
        for r in t.references() {
            check_reference(src, &r);
        }
    }
    if let Ok(c) = Condition::parse(src) {
        let _ = c.evaluate(&scope);
        for r in c.references() {
            check_reference(src, &r);
        }
    }
}

/// A reference's offset points at the path's first segment or at `secrets`.
fn check_reference(src: &str, r: &Reference) {
    match r {
        Reference::Path { segments, offset } => {
            let first = segments.first().map(String::as_str).unwrap_or_default();
            assert!(
                src.get(*offset..).is_some_and(|s| s.starts_with(first)),
                "{src:?}: {r:?}"
            );
        }
        Reference::Secret { offset, .. } => {
            assert!(
                src.get(*offset..).is_some_and(|s| s.starts_with("secrets")),
                "{src:?}: {r:?}"
            );
        }
    }
}

const SOUP: &[&str] = &[
    "<+",
    ">",
    "<+ ",
    " >",
    "(",
    ")",
    "[",
    "]",
    ".",
    ",",
    "?",
    ":",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">=",
    "&&",
    "||",
    "and",
    "or",
    "not",
    "eq",
    "gt",
    "lt",
    "true",
    "false",
    "null",
    "0",
    "1",
    "2.5",
    "\"s\"",
    "'q'",
    "\"",
    "'",
    "\\",
    "a",
    "b.c",
    "pipeline.variables.a",
    "pipeline.variables.n",
    "matrix.list",
    "matrix.cfg",
    "secrets.getValue(",
    "secrets.getValue(\"token\")",
    ".concat(",
    ".split(",
    ".substring(",
    ".length()",
    ".trim()",
    ".indexOf(",
    "strategy.iteration",
    " ",
    "\n",
    "é",
    "$x",
    "_",
];

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(src in "\\PC{0,200}") {
        exercise(&src);
    }

    #[test]
    fn expression_alphabet_strings_never_panic(
        src in "[<+>()\\[\\].,'\"a-c0-2 !=&|?:%*/\\\\-]{0,120}"
    ) {
        exercise(&src);
    }

    #[test]
    fn token_soup_never_panics(
        tokens in proptest::collection::vec(proptest::sample::select(SOUP), 0..40),
        spaced in any::<bool>(),
    ) {
        let src = tokens.join(if spaced { " " } else { "" });
        exercise(&src);
        exercise(&format!("<+{src}>"));
    }

    #[test]
    fn literal_templates_render_unchanged(src in "\\PC{0,200}") {
        prop_assume!(!src.contains("<+"));
        let t = Template::parse(&src).unwrap();
        prop_assert!(t.is_literal());
        prop_assert_eq!(t.render(&scope()).unwrap(), src.clone());
        prop_assert!(t.references().is_empty());
    }

    #[test]
    fn whole_numbers_render_without_a_fraction(n in -(1i64 << 53)..(1i64 << 53)) {
        prop_assert_eq!(Value::Number(n as f64).to_string(), n.to_string());
    }

    #[test]
    fn string_literals_round_trip(s in "[^\"\\\\<]{0,50}") {
        let src = format!("<+\"{s}\">");
        prop_assert_eq!(eval(&src), Value::String(s));
    }
}

#[test]
fn deepest_accepted_nesting_fits_in_half_a_default_thread_stack() {
    let run = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let src = format!(
                "{}-pipeline.variables.n[0 ? 1 : 2].concat(!true){}",
                "<+ (".repeat(30),
                ") >".repeat(30)
            );
            let rendered = Template::parse(&src).map(|t| t.render(&scope()));
            let src = format!("{}1{}", "(".repeat(62), ")".repeat(62));
            let evaluated = Condition::parse(&src).map(|c| c.evaluate(&scope()));
            (rendered, evaluated)
        })
        .unwrap();
    let (rendered, evaluated) = run.join().unwrap();
    assert!(rendered.unwrap().is_err(), "indexing a string is an error");
    assert_eq!(evaluated, Ok(Ok(true)));
}

/// A scope where every path holds the same long string.
struct Long(usize);

impl Scope for Long {
    fn lookup(&self, _path: &[&str]) -> Option<Value> {
        Some(Value::String("x".repeat(self.0)))
    }
    fn secret(&self, _id: &str) -> Result<String, String> {
        Err("none".to_owned())
    }
}

#[test]
fn strings_cannot_grow_past_the_limit() {
    // Each replace multiplies the length by ten; the seventh would pass 16 MiB.
    let src = format!("<+'aaaaaaaaaa'{}>", ".replace('a', 'aaaaaaaaaa')".repeat(7));
    let e = eval_err(&src);
    assert!(e.contains("more than the limit of 16777216"), "{e}");
    let e = eval_err(&format!(
        "<+'aaaaaaaaaa'{}>",
        ".replace('', 'aaaaaaaaaa')".repeat(7)
    ));
    assert!(e.contains("more than the limit"), "{e}");
    assert_eq!(eval("<+'abc'.replace('', '-')>"), string("-a-b-c-"));
    let full = Long(MAX_STRING_LEN);
    for src in [
        "<+a.b.concat('x')>",
        "<+a.b + 1>",
        "<+1 + a.b>",
        "<+a.b.toUpperCase().concat('x')>",
    ] {
        let e = Template::parse(src).unwrap().evaluate(&full).unwrap_err();
        assert!(
            e.message.contains("more than the limit"),
            "{src}: {}",
            e.message
        );
    }
    let at_limit = Template::parse("<+a.b.toUpperCase()>")
        .unwrap()
        .evaluate(&full);
    assert_eq!(
        at_limit.unwrap().as_str().map(str::len),
        Some(MAX_STRING_LEN)
    );
}

#[test]
fn rendering_stops_at_the_string_limit() {
    let mib = Long(1 << 20);
    let e = Template::parse(&"<+a.b>".repeat(17))
        .unwrap()
        .render(&mib)
        .unwrap_err();
    assert!(e.message.contains("more than the limit"), "{}", e.message);
    let rendered = Template::parse(&"<+a.b>".repeat(16)).unwrap().render(&mib);
    assert_eq!(rendered.unwrap().len(), MAX_STRING_LEN);
}

#[test]
fn paths_are_capped_in_length() {
    let ok = format!("<+a{}>", ".b".repeat(MAX_PATH_SEGMENTS - 1));
    assert!(Template::parse(&ok).is_ok());
    let long = format!("<+a{}>", ".b".repeat(100_000));
    let e = parse_err(&long);
    assert!(e.message.contains("more than 64 segments"), "{}", e.message);
    assert_eq!(e.offset, 1 + 2 * MAX_PATH_SEGMENTS);
}
