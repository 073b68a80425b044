# Reproduces "Allow a list of suppliers" from Harness's "Write policy
# definitions" page (developer.harness.io/docs/software-supply-chain-
# assurance/open-source-management/define-sbom-policies). The page adds:
# "Policy evaluation will also fail if the attribute on which the policy is
# enforced is not present in the corresponding SBOM" - lockfiles name no
# supplier, so every component fails this policy.
package sbom

allow_list := {"suppliers": [{"supplier": {"value": ".*Red Hat.*", "operator": "~"}}]}
