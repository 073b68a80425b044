# A builder-id rule in the style of Harness's "Create SLSA policies" page
# (developer.harness.io/docs/software-supply-chain-assurance/artifact-
# security/slsa/create-slsa-policies), written in Rego v1 syntax over the
# SLSA v1 runDetails.builder.id field: only the listed builders may have
# produced the artifact.
package slsa.builder

import rego.v1

allowed_builders := {"https://rampart.example/builder@v1"}

provenance := input[0].outcome.stepArtifacts.provenanceArtifacts[0]

deny contains msg if {
	not provenance.predicate.runDetails.builder.id in allowed_builders
	msg := sprintf("builder %v is not trusted", [object.get(provenance, ["predicate", "runDetails", "builder", "id"], "(none)")])
}
