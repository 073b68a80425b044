//! What goes in a step's script file and on its command line, and how the
//! output file is read back. Pure functions: no processes, no files.
//!
//! Harness compatibility: Harness runs a Run step's command as
//! `sh -c "set -xe; <command>"` (`bash -c` for Bash, `python3 -c` for Python,
//! `pwsh -Command` with `$ErrorActionPreference = 'Stop'` first for
//! PowerShell) and appends code that writes each declared output variable to
//! `$DRONE_OUTPUT`. Rampart does the same, except that the command goes into a
//! file in the step's private directory instead of onto the command line.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Interpreter;

/// Where a PATH-less step looks for its interpreter (the usual system PATH).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs the script file in `__main__` as `python3 -c` runs Harness's command:
/// `sys.path[0]` is the working directory (so workspace modules import), and
/// tracebacks name the script file with its own line numbers.
const PYTHON_BOOTSTRAP: &str = "import sys\n\
del sys.argv[0]\n\
__file__ = sys.argv[0]\n\
del sys\n\
exec(compile(open(__file__, 'rb').read(), __file__, 'exec'))\n";

/// A resolved interpreter: the program and the arguments before the script path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Launcher {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub script_name: &'static str,
}

/// Finds the interpreter for `interpreter` on `path` (the step's own `PATH`,
/// or the system default when the step has none).
pub(crate) fn launcher(interpreter: Interpreter, path: Option<&str>) -> Result<Launcher, String> {
    let path = path.unwrap_or(DEFAULT_PATH);
    let found = |names: &[&str]| names.iter().find_map(|name| find_on_path(name, path));
    match interpreter {
        Interpreter::Sh => {
            let program = PathBuf::from("/bin/sh");
            if !is_executable(&program) {
                return Err("/bin/sh is missing or not executable; every Sh step needs it".into());
            }
            Ok(Launcher {
                program,
                args: vec!["-e".into(), "-x".into()],
                script_name: "script.sh",
            })
        }
        Interpreter::Bash => Ok(Launcher {
            program: found(&["bash"]).ok_or_else(|| {
                missing(
                    "bash",
                    path,
                    "install bash (e.g. `apt-get install bash`) or use `shell: Sh`",
                )
            })?,
            args: vec!["-e".into(), "-x".into()],
            script_name: "script.sh",
        }),
        Interpreter::Python => Ok(Launcher {
            program: found(&["python3"]).ok_or_else(|| {
                missing(
                    "python3",
                    path,
                    "install Python 3 (e.g. `apt-get install python3`) or use another shell",
                )
            })?,
            args: vec!["-u".into(), "-c".into(), PYTHON_BOOTSTRAP.into()],
            script_name: "script.py",
        }),
        Interpreter::Powershell | Interpreter::Pwsh => {
            let names: &[&str] = if interpreter == Interpreter::Powershell {
                &["powershell", "pwsh"]
            } else {
                &["pwsh"]
            };
            let program = found(names).ok_or_else(|| {
                missing(
                    names.join(" or ").as_str(),
                    path,
                    "install PowerShell 7 (https://learn.microsoft.com/powershell/scripting/install/installing-powershell-on-linux) or use `shell: Bash`",
                )
            })?;
            Ok(Launcher {
                program,
                args: ["-NoLogo", "-NoProfile", "-NonInteractive", "-File"]
                    .into_iter()
                    .map(OsString::from)
                    .collect(),
                script_name: "script.ps1",
            })
        }
    }
}

fn missing(what: &str, path: &str, fix: &str) -> String {
    format!("interpreter `{what}` not found on PATH ({path}): {fix}")
}

fn find_on_path(name: &str, path: &str) -> Option<PathBuf> {
    path.split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `name` can be an output variable: a portable shell variable name.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The script file's text: the user's script plus, when outputs are declared,
/// a trailer that appends each variable's final value to `output_file` in the
/// `NAME<<DELIMITER` form (so values may span lines). A variable that is not
/// set is not written. `names` must satisfy [`is_variable_name`].
pub(crate) fn script_text(
    interpreter: Interpreter,
    script: &str,
    names: &[String],
    output_file: &str,
    delimiter: &str,
) -> String {
    let mut text = String::with_capacity(script.len() + 256);
    if matches!(interpreter, Interpreter::Powershell | Interpreter::Pwsh) {
        text.push_str("$ErrorActionPreference = 'Stop'\n");
    }
    text.push_str(script);
    if names.is_empty() {
        return text;
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match interpreter {
        Interpreter::Sh | Interpreter::Bash => {
            // Keep the script's own exit status, and keep the trailer out of
            // the `set -x` trace.
            text.push_str("{ __rampart_rc=$?; set +x; } 2>/dev/null\n");
            let file = sh_quote(output_file);
            let delim = sh_quote(delimiter);
            for name in names {
                text.push_str(&format!(
                    "if [ \"${{{name}+set}}\" = set ]; then printf '%s<<%s\\n%s\\n%s\\n' '{name}' {delim} \"${name}\" {delim} >> {file}; fi\n"
                ));
            }
            text.push_str("exit \"$__rampart_rc\"\n");
        }
        Interpreter::Python => {
            let file = py_quote(output_file);
            let delim = py_quote(delimiter);
            let tuple: String = names.iter().map(|n| format!("{}, ", py_quote(n))).collect();
            text.push_str(&format!(
                "import os as _rampart_os\n\
                 with open({file}, 'a', encoding='utf-8', errors='surrogateescape') as _rampart_out:\n\
                 \x20   for _rampart_name in ({tuple}):\n\
                 \x20       _rampart_value = _rampart_os.environ.get(_rampart_name)\n\
                 \x20       if _rampart_value is not None:\n\
                 \x20           _rampart_out.write(_rampart_name + '<<' + {delim} + '\\n' + _rampart_value + '\\n' + {delim} + '\\n')\n"
            ));
        }
        Interpreter::Powershell | Interpreter::Pwsh => {
            let file = ps_quote(output_file);
            let delim = ps_quote(delimiter);
            let list: Vec<String> = names.iter().map(|n| ps_quote(n)).collect();
            text.push_str(&format!(
                "foreach ($__rampart_name in @({})) {{\n\
                 \x20 $__rampart_value = [Environment]::GetEnvironmentVariable($__rampart_name)\n\
                 \x20 if ($null -ne $__rampart_value) {{\n\
                 \x20   [IO.File]::AppendAllText({file}, $__rampart_name + '<<' + {delim} + \"`n\" + $__rampart_value + \"`n\" + {delim} + \"`n\")\n\
                 \x20 }}\n\
                 }}\n",
                list.join(", ")
            ));
        }
    }
    text
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn py_quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn ps_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Parses the output file: `KEY=value` lines (Drone/Harness dotenv style, as a
/// step writes with `echo "KEY=value" >> $DRONE_OUTPUT`; optional `export `,
/// optional quotes) and `KEY<<DELIMITER` blocks (GitHub style, multi-line).
/// Later entries win. Lines that are neither are skipped: the file is the
/// step's to write, and a stray line must not fail the step.
pub(crate) fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(raw) = lines.next() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let entry = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let heredoc = entry.find("<<");
        let assign = entry.find('=');
        match (heredoc, assign) {
            (Some(h), a) if a.is_none_or(|a| h < a) => {
                let key = entry[..h].trim();
                let delimiter = entry[h + 2..].trim();
                if !is_output_key(key) || delimiter.is_empty() {
                    continue;
                }
                let mut value: Vec<&str> = Vec::new();
                let mut closed = false;
                for next in lines.by_ref() {
                    if next.strip_suffix('\r').unwrap_or(next) == delimiter {
                        closed = true;
                        break;
                    }
                    value.push(next);
                }
                if closed {
                    outputs.insert(key.to_string(), value.join("\n"));
                }
            }
            (_, Some(a)) => {
                let key = entry[..a].trim();
                if is_output_key(key) {
                    outputs.insert(key.to_string(), unquote(entry[a + 1..].trim()));
                }
            }
            _ => {}
        }
    }
    outputs
}

/// Keys as Harness accepts them in the output file (it allows `-` and `.`).
fn is_output_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return value[1..value.len() - 1].to_string();
    }
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        let inner = &value[1..value.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return out;
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_value_lines_like_dotenv() {
        let text =
            "A=1\nexport B = two words \n# comment\n\nC=\"x\\ny\"\nD='q\"z'\nE=a=b\r\nweird line\n";
        let out = parse_outputs(text);
        assert_eq!(out["A"], "1");
        assert_eq!(out["B"], "two words");
        assert_eq!(out["C"], "x\ny");
        assert_eq!(out["D"], "q\"z");
        assert_eq!(out["E"], "a=b");
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn parses_heredoc_blocks_with_multi_line_values() {
        let text = "M<<EOF_1\nline 1\n\nline=3\nEOF_1\nEMPTY<<D\nD\nTRAIL<<D\nx\n\nD\nN=after\n";
        let out = parse_outputs(text);
        assert_eq!(out["M"], "line 1\n\nline=3");
        assert_eq!(out["EMPTY"], "");
        assert_eq!(out["TRAIL"], "x\n");
        assert_eq!(out["N"], "after");
    }

    #[test]
    fn later_entries_win_and_unterminated_blocks_are_dropped() {
        let out = parse_outputs("A=1\nA<<E\n2\nE\nB<<E\nno end\n");
        assert_eq!(out["A"], "2");
        assert!(!out.contains_key("B"));
    }

    #[test]
    fn keys_with_bad_characters_are_skipped() {
        let out = parse_outputs("bad key=1\n=2\nok-key.x=3\n");
        assert_eq!(out.len(), 1);
        assert_eq!(out["ok-key.x"], "3");
    }

    #[test]
    fn variable_names_are_shell_identifiers() {
        assert!(is_variable_name("A_1"));
        assert!(is_variable_name("_x"));
        assert!(!is_variable_name("1A"));
        assert!(!is_variable_name("A-B"));
        assert!(!is_variable_name("A;rm"));
        assert!(!is_variable_name(""));
    }

    #[test]
    fn shell_trailer_quotes_paths_and_keeps_exit_status() {
        let text = script_text(
            Interpreter::Sh,
            "echo hi",
            &["OUT".to_string()],
            "/tmp/it's",
            "EOF_ab",
        );
        assert!(text.starts_with("echo hi\n{ __rampart_rc=$?; set +x; } 2>/dev/null\n"));
        assert!(text.contains(">> '/tmp/it'\\''s'"));
        assert!(text.contains("\"$OUT\""));
        assert!(text.ends_with("exit \"$__rampart_rc\"\n"));
    }

    #[test]
    fn no_trailer_without_outputs() {
        assert_eq!(
            script_text(Interpreter::Bash, "true", &[], "/o", "D"),
            "true"
        );
        assert_eq!(
            script_text(Interpreter::Pwsh, "dir", &[], "/o", "D"),
            "$ErrorActionPreference = 'Stop'\ndir"
        );
    }

    #[test]
    fn python_and_powershell_literals_are_escaped() {
        assert_eq!(py_quote("a'b\\c\n"), "'a\\'b\\\\c\\U0000000a'");
        assert_eq!(ps_quote("it's"), "'it''s'");
        let py = script_text(Interpreter::Python, "x = 1", &["A".into()], "/o", "D");
        assert!(py.contains("for _rampart_name in ('A', ):"));
        let ps = script_text(
            Interpreter::Pwsh,
            "x",
            &["A".into(), "B".into()],
            "/o'",
            "D",
        );
        assert!(ps.contains("@('A', 'B')"));
        assert!(ps.contains("AppendAllText('/o''',"));
    }

    #[test]
    fn missing_interpreters_are_named_with_a_fix() {
        let err = launcher(Interpreter::Python, Some("/nonexistent")).unwrap_err();
        assert!(err.contains("python3"), "{err}");
        assert!(err.contains("apt-get install python3"), "{err}");
        let err = launcher(Interpreter::Pwsh, Some("/nonexistent")).unwrap_err();
        assert!(err.contains("`pwsh`"), "{err}");
        assert!(err.contains("install PowerShell"), "{err}");
        let err = launcher(Interpreter::Bash, Some("relative/dir")).unwrap_err();
        assert!(err.contains("bash"), "{err}");
    }

    #[test]
    fn sh_runs_with_harness_flags() {
        let l = launcher(Interpreter::Sh, None).unwrap();
        assert_eq!(l.program, PathBuf::from("/bin/sh"));
        assert_eq!(l.args, vec![OsString::from("-e"), OsString::from("-x")]);
    }
}
