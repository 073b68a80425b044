# Rampart's implementation of the evaluation Harness SCS performs for SBOM
# policies (deny_list / allow_list over name, version, license, purl and
# supplier), written from the operator table in Harness's "Write policy
# definitions" page, not copied from Harness's script.
#
# input.components: components in Harness's SBOM input shape (uuid,
#   packageName, packageVersion, packageLicense[], purl,
#   packageOriginatorName).
# input.deny_list:  the policy's deny_list value (an array of rules).
# input.allow_list: the policy's allow_list value (an object of groups).
#
# Operators were checked in Rust before evaluation; versions are compared
# by the rampart_version_cmp extension (see version.rs).
package rampart.harness_sbom

import rego.v1

# A rule's condition on one attribute, when it sets a value.
cond(rule, key) := s if {
	s := rule[key]
	is_object(s)
	s.value != null
}

op(s) := object.get(s, "operator", null)

str_match(a, o, b) if {
	is_string(a)
	o in {"==", null}
	a == b
}

str_match(a, o, b) if {
	is_string(a)
	o in {"!", "!="}
	a != b
}

str_match(a, "~", b) if {
	is_string(a)
	regex.match(b, a)
}

attr_matches(_, rule, key, _) if not cond(rule, key)

attr_matches(c, rule, key, field) if {
	s := cond(rule, key)
	str_match(object.get(c, field, null), op(s), s.value)
}

license_matches(_, rule) if not cond(rule, "license")

license_matches(c, rule) if {
	s := cond(rule, "license")
	some l in object.get(c, "packageLicense", [])
	str_match(l, op(s), s.value)
}

version_matches(_, rule) if not cond(rule, "version")

version_matches(c, rule) if {
	s := cond(rule, "version")
	v := object.get(c, "packageVersion", null)
	is_string(v)
	version_match(v, op(s), s.value)
}

cmp(a, b) := rampart_version_cmp(a, b)

version_match(a, o, b) if {
	o in {"==", null}
	cmp(a, b) == 0
}

version_match(a, o, b) if {
	o in {"!", "!="}
	cmp(a, b) != 0
}

version_match(a, "<", b) if cmp(a, b) < 0

version_match(a, "<=", b) if cmp(a, b) <= 0

version_match(a, ">", b) if cmp(a, b) > 0

version_match(a, ">=", b) if cmp(a, b) >= 0

version_match(a, "~", b) if regex.match(b, a)

version_match(a, "><", b) if {
	[lo, hi] := bounds(b)
	cmp(a, lo) > 0
	cmp(a, hi) < 0
}

version_match(a, ">=<", b) if {
	[lo, hi] := bounds(b)
	cmp(a, lo) >= 0
	cmp(a, hi) < 0
}

version_match(a, "><=", b) if {
	[lo, hi] := bounds(b)
	cmp(a, lo) > 0
	cmp(a, hi) <= 0
}

version_match(a, ">=<=", b) if {
	[lo, hi] := bounds(b)
	cmp(a, lo) >= 0
	cmp(a, hi) <= 0
}

bounds(b) := [trim_space(parts[0]), trim_space(parts[1])] if {
	parts := split(b, ",")
	count(parts) == 2
}

# A component is denied by a rule when every attribute the rule sets matches.
violations contains v if {
	some i, rule in input.deny_list
	some c in input.components
	attr_matches(c, rule, "name", "packageName")
	attr_matches(c, rule, "purl", "purl")
	attr_matches(c, rule, "supplier", "packageOriginatorName")
	license_matches(c, rule)
	version_matches(c, rule)
	v := {"rule": sprintf("deny_list[%d]", [i]), "component": c.uuid, "index": i}
}

allowed(x, rules, key) if {
	some r in rules
	s := r[key]
	is_object(s)
	str_match(x, op(s), s.value)
}

license_rules := object.get(input.allow_list, "licenses", [])

# Every license of a component must be allowed; a component without one
# fails, as Harness documents for missing attributes.
violations contains v if {
	count(license_rules) > 0
	some c in input.components
	count(object.get(c, "packageLicense", [])) == 0
	v := {"rule": "allow_list.licenses", "component": c.uuid, "missing": "license"}
}

violations contains v if {
	count(license_rules) > 0
	some c in input.components
	some l in object.get(c, "packageLicense", [])
	not allowed(l, license_rules, "license")
	v := {"rule": "allow_list.licenses", "component": c.uuid, "value": l}
}

# Single-valued groups: the allow_list group, the rule key, the input field.
single_groups := [
	["suppliers", "supplier", "packageOriginatorName"],
	["purls", "purl", "purl"],
]

violations contains v if {
	some [group, key, field] in single_groups
	rules := object.get(input.allow_list, group, [])
	count(rules) > 0
	some c in input.components
	x := object.get(c, field, null)
	not allowed(x, rules, key)
	v := object.union(
		{"rule": sprintf("allow_list.%s", [group]), "component": c.uuid},
		found(key, x),
	)
}

found(key, null) := {"missing": key}

found(_, x) := {"value": x} if x != null
