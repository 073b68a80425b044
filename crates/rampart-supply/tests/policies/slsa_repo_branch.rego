# Reproduces "Validate Repo and Branch" from Harness's "Create SLSA
# policies" page (developer.harness.io/docs/software-supply-chain-assurance/
# artifact-security/slsa/create-slsa-policies), over the input Harness's
# SLSA Verification step gives policies.
package slsa

# Build repo must be 'https://github.com/abc/abc-sample'.
deny[msg] {
	input[0].outcome.stepArtifacts.provenanceArtifacts[0].predicate.buildDefinition.externalParameters.codeMetadata.repositoryURL != "https://github.com/abc/abc-sample"
	msg := "Repository verification failed in Provenance"
}

# Build branch must be 'main'.
deny[msg] {
	input[0].outcome.stepArtifacts.provenanceArtifacts[0].predicate.buildDefinition.externalParameters.codeMetadata.branch != "main"
	msg := "Branch verification failed in provenance"
}
