// Entry point of the sidecar bundle (dist/sidecar.mjs), the file the image starts in every pod.
import { runMain } from '../lib/run-main.ts'
import { main } from './main.ts'

await runMain('sidecar', main, process.argv.slice(2))
