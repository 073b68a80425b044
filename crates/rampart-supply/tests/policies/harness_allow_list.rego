# Reproduces the allow-list samples of Harness's "Write policy definitions"
# page (developer.harness.io/docs/software-supply-chain-assurance/
# open-source-management/define-sbom-policies): "Allow a list of licenses
# based on various criteria" (MIT exactly, anything matching .*Apache.*),
# plus a purl group, which the page lists among allow-list groups.
package sbom

import future.keywords.if
import future.keywords.in

#### DEFINE YOUR ALLOW RULES BELOW ####
allow_list := fill_default_allow_rules({
	"licenses": [
		{"license": {"value": "MIT", "operator": "=="}},
		{"license": {"value": ".*Apache.*", "operator": "~"}},
	],
	"purls": [{"purl": {"value": "^pkg:(cargo|npm)/", "operator": "~"}}],
})
