//! Maven and Gradle: `pom.xml` and `gradle.lockfile`.
//!
//! A `pom.xml` is a manifest, not a lockfile: it lists the project's own
//! dependencies (all direct, no graph) and only the versions it states or
//! manages itself are known. Versions that would need the parent POM, an
//! imported BOM or a repository (missing properties, ranges) are not
//! guessed: the dependency is left out. Profiles are not applied (none is
//! active without a build), nor are plugins, which are build tools.
//!
//! Scopes: `test` is [`Scope::Dev`]; `provided` and `system` stay
//! [`Scope::Required`], since the code runs against them even though the
//! runtime supplies them; `<optional>true</optional>` is [`Scope::Optional`].

use std::collections::{BTreeMap, HashMap};

use roxmltree::{Document, Node};

use super::{Component, Ecosystem, ParseError, Parsed, Purl, Scope};

/// How deep `${a}` may lead to `${b}` and on before it counts as a loop.
const MAX_PROPERTY_DEPTH: usize = 16;

/// Reads a `pom.xml`'s `<dependencies>`, versions resolved from its own
/// properties and `<dependencyManagement>`.
pub(crate) fn parse_pom(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let doc = Document::parse(text)
        .map_err(|e| ParseError::at(e.pos().row as usize, format!("not well-formed XML: {e}")))?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        return Err(ParseError::at(
            line_of(&doc, project),
            "the root element of a POM is <project>",
        ));
    }
    let properties = project_properties(project);

    // (groupId, artifactId) -> (version, scope) from <dependencyManagement>.
    let mut managed: HashMap<(String, String), (Option<String>, Option<String>)> = HashMap::new();
    if let Some(list) =
        child(project, "dependencyManagement").and_then(|m| child(m, "dependencies"))
    {
        for node in children(list, "dependency") {
            let Some(dep) = read_dependency(&doc, node, &properties)? else {
                continue;
            };
            // A BOM import manages other artifacts, which are in a file not here.
            if dep.scope.as_deref() == Some("import") {
                continue;
            }
            let version = dep.version.and_then(|v| substitute(&v, &properties, 0));
            managed.insert((dep.group, dep.artifact), (version, dep.scope));
        }
    }

    let mut by_purl: BTreeMap<Purl, Component> = BTreeMap::new();
    let mut order = Vec::new();
    if let Some(list) = child(project, "dependencies") {
        for node in children(list, "dependency") {
            let Some(dep) = read_dependency(&doc, node, &properties)? else {
                continue;
            };
            let key = (dep.group.clone(), dep.artifact.clone());
            let (managed_version, managed_scope) = managed.get(&key).cloned().unwrap_or_default();
            // A version the dependency states but that cannot be resolved is
            // not replaced by the managed one: Maven would not do that either.
            let version = match dep.version {
                Some(raw) => substitute(&raw, &properties, 0),
                None => managed_version,
            };
            let Some(version) = version.filter(|v| is_concrete(v)) else {
                continue;
            };
            let scope = match dep.scope.or(managed_scope).as_deref() {
                Some("test") => Scope::Dev,
                _ if dep.optional => Scope::Optional,
                _ => Scope::Required,
            };
            let purl = Purl::new(Ecosystem::Maven, Some(&dep.group), &dep.artifact, &version);
            match by_purl.get_mut(&purl) {
                // The same artifact again (another classifier or type).
                Some(existing) => existing.scope = existing.scope.min(scope),
                None => {
                    order.push(purl.clone());
                    by_purl.insert(
                        purl.clone(),
                        maven_component(file, dep.group, dep.artifact, version, purl, scope),
                    );
                }
            }
        }
    }
    let components: Vec<Component> = order
        .iter()
        .filter_map(|purl| by_purl.remove(purl))
        .collect();
    Ok(Parsed {
        direct: components.iter().map(|c| c.purl.clone()).collect(),
        components,
        edges: Vec::new(),
    })
}

/// Reads a `gradle.lockfile`: `group:artifact:version=conf,conf` lines.
/// Modules only test configurations resolve are [`Scope::Dev`]. The file
/// says neither which modules are direct nor what depends on what.
pub(crate) fn parse_gradle_lockfile(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let mut by_purl: BTreeMap<Purl, Component> = BTreeMap::new();
    let mut order = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (coordinates, configurations) = line.split_once('=').ok_or_else(|| {
            ParseError::at(number, "expected group:artifact:version=configurations")
        })?;
        // `empty=` lists the configurations that resolve to nothing.
        if coordinates == "empty" {
            continue;
        }
        let parts: Vec<&str> = coordinates.split(':').collect();
        let [group, artifact, version] = parts[..] else {
            return Err(ParseError::at(
                number,
                format!("{coordinates:?} is not group:artifact:version"),
            ));
        };
        if group.is_empty() || artifact.is_empty() || version.is_empty() {
            return Err(ParseError::at(
                number,
                format!("{coordinates:?} has an empty part"),
            ));
        }
        let mut configurations = configurations
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .peekable();
        let scope = if configurations.peek().is_some() && configurations.all(is_test_configuration)
        {
            Scope::Dev
        } else {
            Scope::Required
        };
        let purl = Purl::new(Ecosystem::Maven, Some(group), artifact, version);
        match by_purl.get_mut(&purl) {
            Some(existing) => existing.scope = existing.scope.min(scope),
            None => {
                order.push(purl.clone());
                by_purl.insert(
                    purl.clone(),
                    maven_component(
                        file,
                        group.to_string(),
                        artifact.to_string(),
                        version.to_string(),
                        purl,
                        scope,
                    ),
                );
            }
        }
    }
    Ok(Parsed {
        components: order
            .iter()
            .filter_map(|purl| by_purl.remove(purl))
            .collect(),
        edges: Vec::new(),
        direct: Vec::new(),
    })
}

/// Configurations of test source sets: Gradle names them after the source
/// set, `test…` for the standard one and `…Test…` for others
/// (`integrationTestRuntimeClasspath`, `androidTestDebugCompileClasspath`).
fn is_test_configuration(name: &str) -> bool {
    name.starts_with("test") || name.contains("Test")
}

fn maven_component(
    file: &str,
    group: String,
    artifact: String,
    version: String,
    purl: Purl,
    scope: Scope,
) -> Component {
    Component {
        ecosystem: Ecosystem::Maven,
        name: artifact,
        group: Some(group),
        version,
        purl,
        hashes: Vec::new(),
        licenses: Vec::new(),
        scope,
        supplier: None,
        source_file: file.to_string(),
    }
}

/// One `<dependency>`, properties substituted except in the version (whose
/// resolution depends on where it is used); the whole dependency is `None`
/// when its coordinates cannot be resolved.
struct Dependency {
    group: String,
    artifact: String,
    version: Option<String>,
    scope: Option<String>,
    optional: bool,
}

fn read_dependency(
    doc: &Document,
    node: Node,
    properties: &HashMap<String, String>,
) -> Result<Option<Dependency>, ParseError> {
    let line = line_of(doc, node);
    let required = |name: &str| {
        child_text(node, name)
            .ok_or_else(|| ParseError::at(line, format!("a <dependency> without <{name}>")))
    };
    let (group, artifact) = (required("groupId")?, required("artifactId")?);
    // Coordinates from a property the parent defines cannot be known here.
    let (Some(group), Some(artifact)) = (
        substitute(&group, properties, 0),
        substitute(&artifact, properties, 0),
    ) else {
        return Ok(None);
    };
    let version = child_text(node, "version");
    let scope = child_text(node, "scope").and_then(|s| substitute(&s, properties, 0));
    let optional = child_text(node, "optional")
        .and_then(|o| substitute(&o, properties, 0))
        .is_some_and(|o| o == "true");
    Ok(Some(Dependency {
        group,
        artifact,
        version,
        scope,
        optional,
    }))
}

/// `<properties>` plus the `project.*` values a POM may refer to.
fn project_properties(project: Node) -> HashMap<String, String> {
    let mut properties: HashMap<String, String> = child(project, "properties")
        .map(|p| {
            p.children()
                .filter(Node::is_element)
                .map(|n| {
                    (
                        n.tag_name().name().to_string(),
                        n.text().unwrap_or("").trim().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let parent = child(project, "parent");
    let parent_group = parent.and_then(|p| child_text(p, "groupId"));
    let parent_version = parent.and_then(|p| child_text(p, "version"));
    // A module without its own groupId or version inherits its parent's.
    let group = child_text(project, "groupId").or_else(|| parent_group.clone());
    let version = child_text(project, "version").or_else(|| parent_version.clone());
    let artifact = child_text(project, "artifactId");
    let known = [
        ("project.groupId", group.clone()),
        ("pom.groupId", group),
        ("project.version", version.clone()),
        ("pom.version", version),
        ("project.artifactId", artifact),
        ("project.parent.groupId", parent_group.clone()),
        ("parent.groupId", parent_group),
        ("project.parent.version", parent_version.clone()),
        ("parent.version", parent_version),
    ];
    for (name, value) in known {
        if let Some(value) = value {
            properties.insert(name.to_string(), value);
        }
    }
    properties
}

/// Replaces each `${name}`; `None` when a name is unknown (or loops), so
/// no version is made up.
fn substitute(text: &str, properties: &HashMap<String, String>, depth: usize) -> Option<String> {
    if depth > MAX_PROPERTY_DEPTH {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let value = properties.get(after[..end].trim())?;
        out.push_str(&substitute(value, properties, depth + 1)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A version that names one release: not empty and not a range.
fn is_concrete(version: &str) -> bool {
    !version.is_empty() && !version.starts_with(['[', '(']) && !version.contains(',')
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn child_text(node: Node, name: &str) -> Option<String> {
    child(node, name)
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn line_of(doc: &Document, node: Node) -> usize {
    doc.text_pos_at(node.range().start).row as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const POM: &str = r#"<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent><groupId>org.example</groupId><artifactId>parent</artifactId><version>7</version></parent>
  <artifactId>app</artifactId>
  <version>2.1.0</version>
  <licenses><license><name>Apache-2.0</name></license></licenses>
  <properties>
    <jackson.version>2.17.1</jackson.version>
    <jackson.alias>${jackson.version}</jackson.alias>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.13</version></dependency>
      <dependency><groupId>org.junit</groupId><artifactId>junit-bom</artifactId><version>5.10.2</version><type>pom</type><scope>import</scope></dependency>
      <dependency><groupId>org.mockito</groupId><artifactId>mockito-core</artifactId><version>5.11.0</version><scope>test</scope></dependency>
      <dependency><groupId>x</groupId><artifactId>missing-property</artifactId><version>9</version></dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>${jackson.alias}</version></dependency>
    <dependency><groupId>${project.groupId}</groupId><artifactId>app-core</artifactId><version>${project.version}</version></dependency>
    <dependency><groupId>org.example</groupId><artifactId>sibling</artifactId><version>${project.parent.version}</version><optional>true</optional></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
    <dependency><groupId>org.mockito</groupId><artifactId>mockito-core</artifactId></dependency>
    <dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><scope>test</scope></dependency>
    <dependency><groupId>jakarta.servlet</groupId><artifactId>jakarta.servlet-api</artifactId><version>6.0.0</version><scope>provided</scope></dependency>
    <dependency><groupId>x</groupId><artifactId>missing-property</artifactId><version>${nowhere.version}</version></dependency>
    <dependency><groupId>x</groupId><artifactId>ranged</artifactId><version>[1.0,2.0)</version></dependency>
    <dependency><groupId>${parent.only}</groupId><artifactId>a</artifactId><version>1</version></dependency>
  </dependencies>
  <profiles><profile><dependencies>
    <dependency><groupId>x</groupId><artifactId>in-profile</artifactId><version>1</version></dependency>
  </dependencies></profile></profiles>
</project>"#;

    #[test]
    fn pom_versions_come_from_properties_management_and_the_project() {
        let parsed = parse_pom("pom.xml", POM).expect("parses");
        let found: Vec<(&str, Scope)> = parsed
            .components
            .iter()
            .map(|c| (c.purl.as_str(), c.scope))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.1",
                    Scope::Required
                ),
                ("pkg:maven/org.example/app-core@2.1.0", Scope::Required),
                ("pkg:maven/org.example/sibling@7", Scope::Optional),
                ("pkg:maven/org.slf4j/slf4j-api@2.0.13", Scope::Required),
                ("pkg:maven/org.mockito/mockito-core@5.11.0", Scope::Dev),
                (
                    "pkg:maven/jakarta.servlet/jakarta.servlet-api@6.0.0",
                    Scope::Required
                ),
            ]
        );
        assert_eq!(parsed.direct.len(), parsed.components.len());
        assert!(parsed.edges.is_empty());
        let databind = &parsed.components[0];
        assert_eq!(
            databind.group.as_deref(),
            Some("com.fasterxml.jackson.core")
        );
        assert_eq!(databind.name, "jackson-databind");
        assert!(
            databind.licenses.is_empty(),
            "the project's license is not its dependencies'"
        );
    }

    #[test]
    fn property_loops_resolve_to_nothing_instead_of_recursing() {
        let mut properties = HashMap::new();
        properties.insert("a".to_string(), "${b}".to_string());
        properties.insert("b".to_string(), "${a}".to_string());
        assert_eq!(substitute("${a}", &properties, 0), None);
        assert_eq!(substitute("x-${", &properties, 0), None);
    }

    #[test]
    fn bad_poms_are_errors_with_their_line() {
        let broken = parse_pom("pom.xml", "<project>\n<dependencies>\n</project>").unwrap_err();
        assert_eq!(broken.line, Some(3));
        let not_a_pom = parse_pom("pom.xml", "<settings/>").unwrap_err();
        assert_eq!(not_a_pom.line, Some(1));
        let no_group = parse_pom(
            "pom.xml",
            "<project>\n<dependencies>\n<dependency><artifactId>a</artifactId></dependency>\n</dependencies></project>",
        )
        .unwrap_err();
        assert_eq!(no_group.line, Some(3));
        let doctype = "<!DOCTYPE p [<!ENTITY a \"aaaa\">]>\n<project/>";
        assert!(
            parse_pom("pom.xml", doctype).is_err(),
            "DTDs (entity bombs) are refused"
        );
    }

    #[test]
    fn gradle_modules_only_tests_resolve_are_dev() {
        let text = "# Gradle generated\n\
                    org.junit.jupiter:junit-jupiter-api:5.9.2=testCompileClasspath,testRuntimeClasspath\n\
                    com.google.guava:guava:33.0.0-jre=compileClasspath,testRuntimeClasspath\n\
                    org.testcontainers:postgresql:1.19.7=integrationTestRuntimeClasspath\n\
                    empty=annotationProcessor,testAnnotationProcessor\n";
        let parsed = parse_gradle_lockfile("gradle.lockfile", text).expect("parses");
        let found: Vec<(&str, Scope)> = parsed
            .components
            .iter()
            .map(|c| (c.purl.as_str(), c.scope))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "pkg:maven/org.junit.jupiter/junit-jupiter-api@5.9.2",
                    Scope::Dev
                ),
                (
                    "pkg:maven/com.google.guava/guava@33.0.0-jre",
                    Scope::Required
                ),
                ("pkg:maven/org.testcontainers/postgresql@1.19.7", Scope::Dev),
            ]
        );
        assert!(parsed.direct.is_empty() && parsed.edges.is_empty());
    }

    #[test]
    fn bad_gradle_lines_are_errors_with_their_line() {
        let no_equals = parse_gradle_lockfile("gradle.lockfile", "# c\na:b:1\n").unwrap_err();
        assert_eq!(no_equals.line, Some(2));
        let two_parts =
            parse_gradle_lockfile("gradle.lockfile", "a:b=compileClasspath\n").unwrap_err();
        assert_eq!(two_parts.line, Some(1));
        let empty_part = parse_gradle_lockfile("gradle.lockfile", "a::1=x\n").unwrap_err();
        assert_eq!(empty_part.line, Some(1));
    }
}
