# Reproduces the deny-list samples of Harness's "Write policy definitions"
# page (developer.harness.io/docs/software-supply-chain-assurance/
# open-source-management/define-sbom-policies): "Block 'curl' below a
# certain version", "Block versions of 'log4j' using regex", "Block
# 'busybot' between version 3.0.0 and 5.0.0", "Block 'curl' except a
# specific version" (here for wget) and "Block components with a specific
# license". As on that page, only the lists are written: the enforcement
# script Harness appends is supplied by Rampart.
package sbom

import future.keywords.if
import future.keywords.in

#### DEFINE YOUR DENY RULES BELOW ####
deny_list := fill_default_deny_rules([
	{
		"name": {"value": "curl", "operator": "=="},
		"version": {"value": "3.0.0", "operator": "<="},
	},
	{
		"name": {"value": ".*log4j.*", "operator": "~"},
		"version": {"value": "3.0.0", "operator": "<"},
	},
	{
		"name": {"value": "busybot", "operator": "=="},
		"version": {"value": "3.0.0,5.0.0", "operator": "><"},
	},
	{
		"name": {"value": "wget", "operator": "=="},
		"version": {"value": "1.21.4", "operator": "!"},
	},
	{"license": {"value": "BSD-3-Clause", "operator": "=="}},
])
