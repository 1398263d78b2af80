package destination

import "github.com/penstock/penstock/internal/esm"

// IncludeRecordsTag is the mapping tag that opts a mapping into the
// penstock extension: SQS and SNS dead letters carry the failed records'
// event as "payload", as S3 objects always do.
const IncludeRecordsTag = esm.IncludeRecordsTag

// includeRecords reads the opt-in the engine sets from IncludeRecordsTag.
func includeRecords(d esm.Delivery) bool { return d.IncludeRecords }
