// The seed document's Node.js record processor: decode each record's
// base64 data and log it.
exports.handler = async (event, context) => {
  // Iterating through the batch of records
  event.Records.forEach(record => {
    // 1. Extract the data
    // 2. Decode from Base64 to String
    const payload = Buffer.from(record.kinesis.data, 'base64').toString('ascii');
    console.log('Decoded payload:', payload);
    // Process logic (e.g., PII Redaction) would go here
  });
  return `Successfully processed ${event.Records.length} records.`;
};
