// `npm run image [-- [--gzip] [--force] [NAME...]]`: writes the OCI image archives into
// dist/images/ with no container engine (scripts/image/images.ts), one line per archive with its
// size and build time. With no names it builds every image whose inputs are there and says which
// ones it skipped (pause and sdk-go-v2 need `npm run peers` / scripts/sdk-clients/install.sh);
// a named image with a missing input is an error.
import { relative } from 'node:path'
import { parseArgs } from 'node:util'
import { repoRoot } from '../../test/peers/paths.ts'
import { buildImages, IMAGE_NAMES, MissingInputError, type ImageName } from './images.ts'

const USAGE = `usage: npm run image -- [--gzip] [--force] [${IMAGE_NAMES.join('|')} ...]
  --gzip   gzip the layers (smaller files, several times slower to build)
  --force  rebuild even when the inputs did not change`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { gzip: { type: 'boolean' }, force: { type: 'boolean' }, help: { type: 'boolean' } },
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const unknown = positionals.filter((n) => !(IMAGE_NAMES as readonly string[]).includes(n))
if (unknown.length > 0) {
  console.error(`unknown image ${unknown.join(', ')}\n${USAGE}`)
  process.exit(2)
}

const named = positionals.length > 0
const names = (named ? positionals : IMAGE_NAMES) as readonly ImageName[]
const options = { compression: values.gzip ? 'gzip' : 'none', force: values.force } as const
let failed = false
for (const name of names) {
  try {
    const [image] = await buildImages([name], options)
    const { file, bytes, seconds, built, reference } = image!
    const size = `${(bytes / 1048576).toFixed(1)} MiB`.padStart(10)
    const time = `${seconds.toFixed(1)} s`.padStart(7)
    const note = built ? '' : ' (inputs unchanged)'
    console.log(`${relative(repoRoot, file).padEnd(32)} ${size} ${time}  ${reference}${note}`)
  } catch (err) {
    if (!(err instanceof MissingInputError)) throw err
    failed ||= named
    console.error(`${named ? 'error' : 'skipped'} ${name}: ${err.message}`)
  }
}
process.exitCode = failed ? 1 : 0
