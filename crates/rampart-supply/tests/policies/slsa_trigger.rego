# Reproduces "Validate Trigger type" from Harness's "Create SLSA policies"
# page (developer.harness.io/docs/software-supply-chain-assurance/
# artifact-security/slsa/create-slsa-policies).
package slsa

deny[msg] {
	input[0].outcome.stepArtifacts.provenanceArtifacts[0].predicate.buildDefinition.externalParameters.trigger != "push"
	msg := "Invalid trigger type: only 'push' is allowed"
}
