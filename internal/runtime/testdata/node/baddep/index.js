// Requires a package that is not installed: Runtime.ImportModuleError.
const missing = require('some-package-that-is-not-installed');

exports.handler = async () => missing.run();
