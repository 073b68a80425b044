//! Go modules, from `go.mod`.
//!
//! Only `go.mod` is read. Since Go 1.17 it lists every module the build
//! needs (the direct ones plain, the rest marked `// indirect`), which is the
//! module graph's result without its edges. `go.sum` is not in the parser
//! table: it also names modules that were only consulted while resolving
//! (so it over-reports), and its `h1:` values hash an extracted module tree,
//! not a downloadable artifact, so they are not [`super::Hash`]es either.

use std::collections::BTreeSet;

use super::{Component, Ecosystem, ParseError, Parsed, Purl, Scope};

/// One `require` line: the module, its version, whether `// indirect`.
struct Require {
    path: String,
    version: String,
    indirect: bool,
}

/// Where a `replace` sends a module.
enum Target {
    /// Another module at a version: that one is built instead.
    Module { path: String, version: String },
    /// A directory in the source tree: code of the project itself, not a
    /// published component, so it is left out.
    Local,
}

struct Replace {
    path: String,
    /// `None` replaces every version.
    version: Option<String>,
    target: Target,
}

/// Reads a `go.mod`: each required module is a component, its `replace`
/// applied; `// indirect` ones are not direct. `exclude` and `retract` change
/// nothing that is built here, so they are read only to be skipped.
pub(crate) fn parse_go_mod(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let mut requires = Vec::new();
    let mut replaces = Vec::new();
    let mut block: Option<(String, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let (code, comment) = split_comment(raw);
        let tokens = tokenize(code, number)?;
        if tokens.is_empty() {
            continue;
        }
        let indirect = is_indirect(comment);
        if let Some((verb, _)) = &block {
            if tokens == [")"] {
                block = None;
                continue;
            }
            let verb = verb.clone();
            directive(
                &verb,
                &tokens,
                indirect,
                number,
                &mut requires,
                &mut replaces,
            )?;
            continue;
        }
        let verb = tokens[0].as_str();
        let args = &tokens[1..];
        if args == ["("] {
            if !is_block_verb(verb) {
                return Err(ParseError::at(
                    number,
                    format!("`{verb}` cannot open a block"),
                ));
            }
            block = Some((verb.to_string(), number));
            continue;
        }
        if args == ["(", ")"] && is_block_verb(verb) {
            continue;
        }
        directive(verb, args, indirect, number, &mut requires, &mut replaces)?;
    }
    if let Some((verb, opened)) = block {
        return Err(ParseError::at(
            opened,
            format!("`{verb} (` is never closed"),
        ));
    }

    let mut parsed = Parsed::default();
    let mut seen = BTreeSet::new();
    let mut direct = BTreeSet::new();
    for require in requires {
        let (path, version) = match replacement(&replaces, &require.path, &require.version) {
            Some(Target::Local) => continue,
            Some(Target::Module { path, version }) => (path.clone(), version.clone()),
            None => (require.path, require.version),
        };
        let purl = go_purl(&path, &version);
        if !require.indirect {
            direct.insert(purl.clone());
        }
        if seen.insert(purl.clone()) {
            parsed.components.push(Component {
                ecosystem: Ecosystem::Go,
                name: path,
                group: None,
                version,
                purl,
                hashes: Vec::new(),
                licenses: Vec::new(),
                scope: Scope::Required,
                supplier: None,
                source_file: file.to_string(),
            });
        }
    }
    parsed.direct = direct.into_iter().collect();
    Ok(parsed)
}

fn is_block_verb(verb: &str) -> bool {
    matches!(
        verb,
        "require" | "replace" | "exclude" | "retract" | "tool" | "ignore" | "godebug"
    )
}

/// Handles one directive (its verb, then its arguments).
fn directive(
    verb: &str,
    args: &[String],
    indirect: bool,
    line: usize,
    requires: &mut Vec<Require>,
    replaces: &mut Vec<Replace>,
) -> Result<(), ParseError> {
    match verb {
        "require" => match args {
            [path, version] => {
                check_version(version, line)?;
                requires.push(Require {
                    path: path.clone(),
                    version: version.clone(),
                    indirect,
                });
            }
            _ => {
                return Err(ParseError::at(
                    line,
                    "a requirement is a module path and a version",
                ));
            }
        },
        "replace" => replaces.push(parse_replace(args, line)?),
        "module" | "go" | "toolchain" => {
            if args.len() != 1 {
                return Err(ParseError::at(line, format!("`{verb}` takes one argument")));
            }
        }
        "exclude" | "retract" | "tool" | "ignore" | "godebug" => {
            if args.is_empty() {
                return Err(ParseError::at(line, format!("`{verb}` needs an argument")));
            }
        }
        other => {
            return Err(ParseError::at(
                line,
                format!("unknown go.mod directive `{other}`"),
            ));
        }
    }
    Ok(())
}

/// `old [version] => new [version]`; a new side without a version is a
/// directory.
fn parse_replace(args: &[String], line: usize) -> Result<Replace, ParseError> {
    let arrow = args
        .iter()
        .position(|t| t == "=>")
        .ok_or_else(|| ParseError::at(line, "a replacement needs `=>`"))?;
    let (old, new) = (&args[..arrow], &args[arrow + 1..]);
    let (path, version) = match old {
        [path] => (path.clone(), None),
        [path, version] => (path.clone(), Some(version.clone())),
        _ => {
            return Err(ParseError::at(
                line,
                "the replaced side is a module path and an optional version",
            ));
        }
    };
    let target = match new {
        [_dir] => Target::Local,
        [path, version] => {
            check_version(version, line)?;
            Target::Module {
                path: path.clone(),
                version: version.clone(),
            }
        }
        _ => {
            return Err(ParseError::at(
                line,
                "the replacement is a directory, or a module path and a version",
            ));
        }
    };
    Ok(Replace {
        path,
        version,
        target,
    })
}

/// Go versions are canonical semver with a `v`; anything else is not a
/// version the go command wrote.
fn check_version(version: &str, line: usize) -> Result<(), ParseError> {
    if version.starts_with('v') && version[1..].starts_with(|c: char| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ParseError::at(
            line,
            format!("{version:?} is not a module version"),
        ))
    }
}

/// The replacement for a module at a version: one naming that exact version
/// wins over one for every version, as the go command decides.
fn replacement<'a>(replaces: &'a [Replace], path: &str, version: &str) -> Option<&'a Target> {
    let exact = replaces
        .iter()
        .rev()
        .find(|r| r.path == path && r.version.as_deref() == Some(version));
    exact
        .or_else(|| {
            replaces
                .iter()
                .rev()
                .find(|r| r.path == path && r.version.is_none())
        })
        .map(|r| &r.target)
}

/// `pkg:golang/<path before the last slash>/<last element>@<version>`.
fn go_purl(path: &str, version: &str) -> Purl {
    match path.rsplit_once('/') {
        Some((namespace, name)) => Purl::new(Ecosystem::Go, Some(namespace), name, version),
        None => Purl::new(Ecosystem::Go, None, path, version),
    }
}

/// Splits off a `//` comment; go.mod has no other comment form.
fn split_comment(line: &str) -> (&str, &str) {
    match line.find("//") {
        Some(at) => (&line[..at], &line[at + 2..]),
        None => (line, ""),
    }
}

/// `// indirect`, alone or before `;` and more comment, as the go command
/// writes and reads it.
fn is_indirect(comment: &str) -> bool {
    let comment = comment.trim();
    comment == "indirect" || comment.starts_with("indirect;")
}

/// Words of a line; `"quoted"` and `` `raw` `` tokens lose their quotes.
fn tokenize(code: &str, line: usize) -> Result<Vec<String>, ParseError> {
    let mut tokens = Vec::new();
    let mut rest = code.trim_start();
    while !rest.is_empty() {
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '`');
        if let Some(quote) = quote {
            let body = &rest[1..];
            let end = body
                .find(quote)
                .ok_or_else(|| ParseError::at(line, "unterminated quoted string"))?;
            tokens.push(body[..end].to_string());
            rest = body[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            tokens.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::test_support::purls;

    #[test]
    fn indirect_requirements_are_components_but_not_direct() {
        let text = "module example.com/app\n\ngo 1.21\n\nrequire github.com/pkg/errors v0.9.1\n\
                    require (\n\tgopkg.in/yaml.v3 v3.0.1 // indirect\n\tgithub.com/BurntSushi/toml v1.3.2 // a note\n)\n";
        let parsed = parse_go_mod("go.mod", text).expect("parses");
        assert_eq!(
            purls(&parsed),
            [
                "pkg:golang/github.com/pkg/errors@v0.9.1",
                "pkg:golang/gopkg.in/yaml.v3@v3.0.1",
                "pkg:golang/github.com/BurntSushi/toml@v1.3.2",
            ]
        );
        let direct: Vec<&str> = parsed.direct.iter().map(Purl::as_str).collect();
        assert_eq!(
            direct,
            [
                "pkg:golang/github.com/BurntSushi/toml@v1.3.2",
                "pkg:golang/github.com/pkg/errors@v0.9.1",
            ]
        );
        assert_eq!(parsed.components[0].name, "github.com/pkg/errors");
    }

    #[test]
    fn replacements_swap_the_module_and_local_ones_are_dropped() {
        let text = "module m\nrequire (\n\tgolang.org/x/net v0.30.0\n\tgithub.com/a/b v1.0.0\n\
                    \tgithub.com/c/d v1.2.0 // indirect\n\tgithub.com/e/f v2.0.0+incompatible\n)\n\
                    replace golang.org/x/net => github.com/golang/net v0.31.0\n\
                    replace github.com/a/b => ../b\n\
                    replace (\n\tgithub.com/c/d v1.1.0 => github.com/c/d v9.9.9\n\tgithub.com/c/d v1.2.0 => github.com/x/d v1.2.1\n)\n\
                    exclude github.com/e/f v1.0.0\nretract [v0.1.0, v0.2.0]\n";
        let parsed = parse_go_mod("go.mod", text).expect("parses");
        assert_eq!(
            purls(&parsed),
            [
                "pkg:golang/github.com/golang/net@v0.31.0",
                "pkg:golang/github.com/x/d@v1.2.1",
                "pkg:golang/github.com/e/f@v2.0.0%2Bincompatible",
            ]
        );
        let direct: Vec<&str> = parsed.direct.iter().map(Purl::as_str).collect();
        assert_eq!(
            direct,
            [
                "pkg:golang/github.com/e/f@v2.0.0%2Bincompatible",
                "pkg:golang/github.com/golang/net@v0.31.0",
            ]
        );
    }

    #[test]
    fn indirect_with_more_comment_counts_but_a_word_starting_with_it_does_not() {
        assert!(is_indirect(" indirect; needed by x"));
        assert!(!is_indirect(" indirectly used"));
    }

    #[test]
    fn malformed_files_are_errors_with_their_line() {
        let unclosed = parse_go_mod("go.mod", "module m\nrequire (\n\ta/b v1.0.0\n").unwrap_err();
        assert_eq!(unclosed.line, Some(2));
        let bad_version = parse_go_mod("go.mod", "module m\nrequire a/b latest\n").unwrap_err();
        assert_eq!(bad_version.line, Some(2));
        let unknown = parse_go_mod("go.mod", "module m\nrequires a/b v1.0.0\n").unwrap_err();
        assert_eq!(unknown.line, Some(2));
        let no_arrow = parse_go_mod("go.mod", "replace a/b c/d v1.0.0\n").unwrap_err();
        assert_eq!(no_arrow.line, Some(1));
        let quote = parse_go_mod("go.mod", "module \"m\n").unwrap_err();
        assert_eq!(quote.line, Some(1));
    }
}
