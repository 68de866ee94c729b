// deref.cjs — times @apidevtools/swagger-parser dereference (circular refs
// allowed) of one document, in process: prints "<ms> <operations>".
const SwaggerParser = require("@apidevtools/swagger-parser");
const file = process.argv[2];
const t0 = process.hrtime.bigint();
SwaggerParser.dereference(file, { dereference: { circular: true } })
  .then((api) => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    let ops = 0;
    for (const item of Object.values(api.paths || {}))
      for (const m of ["get", "put", "post", "delete", "options", "head", "patch", "trace"])
        if (item && item[m]) ops++;
    console.log(`${ms.toFixed(1)} ${ops}`);
  })
  .catch((e) => {
    console.error(`${file}: ${e.message}`);
    process.exit(1);
  });
