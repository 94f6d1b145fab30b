// yargs, as every command line of ours imports it. The build replaces the compiled file with a one-file bundle of
// yargs and its dependencies (scripts/bundle-yargs.js): loading ~50 small modules is most of `bt --help`'s start-up
// time, one file is a fraction of it. Under tsx (tests, development) this plain re-export is used.
export { default } from 'yargs'
export { hideBin } from 'yargs/helpers'
