package destination

import "github.com/penstock/penstock/internal/esm"

// IncludeRecordsTag is the mapping tag that opts a mapping into the
// penstock extension: SQS and SNS dead letters carry the failed records'
// event as "payload", as S3 objects always do.
const IncludeRecordsTag = "penstock:include-records"

// includeRecords reads the opt-in from the delivery. esm.Delivery has no
// field for it yet (docs/contracts.md proposes IncludeRecords bool, set
// from IncludeRecordsTag); until then every SQS/SNS delivery is AWS-shaped.
func includeRecords(d esm.Delivery) bool {
	_ = d
	return false
}
