/** The client half of the `strata` command, for `broker/cli.ts` to dispatch to. */
export { CLIENT_USAGE, runClientCommand } from './main.js';
