// The Node.js example function: handler "index.handler".
exports.handler = async (event) => {
  const name = event.name || "world";
  console.log(`greeting ${name}`);
  return { message: `hello, ${name}!`, runtime: "node" };
};
