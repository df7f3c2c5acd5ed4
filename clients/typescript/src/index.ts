// One typed client for the three IRO services, behind the gateway or the all-in-one run.
//
// The types are generated from the committed OpenAPI snapshots (services/*/openapi.json) by
// openapi-typescript (`npm run generate`); the calls are openapi-fetch's, typed by path, method,
// parameters, body and response. `.ci/ts-client` generates and type-checks this in CI.
import createClient, { type Client, type ClientOptions } from "openapi-fetch";

import type * as drp from "../generated/drp";
import type * as reviews from "../generated/reviews";
import type * as scorecard from "../generated/scorecard";

export type { drp, reviews, scorecard };

/** The problem+json body every service answers an error with (RFC 9457). */
export type Problem = reviews.components["schemas"]["Problem"];

// Operation ids are `<service>-<tag>-<name>`, unique across the three services; if two
// services ever shared one, this would not compile (and a merged client would be ambiguous).
type Overlap =
  | (keyof reviews.operations & keyof drp.operations)
  | (keyof reviews.operations & keyof scorecard.operations)
  | (keyof drp.operations & keyof scorecard.operations);
const operationIdsAreUnique: [Overlap] extends [never] ? true : Overlap = true;
void operationIdsAreUnique;

// The kit's shared schemas are one shape in every service: a Problem from any of them is a
// Problem of any other (a compile error here means they drifted apart).
const sameProblem: [
  drp.components["schemas"]["Problem"],
  scorecard.components["schemas"]["Problem"],
] extends [Problem, Problem]
  ? Problem extends drp.components["schemas"]["Problem"] & scorecard.components["schemas"]["Problem"]
    ? true
    : false
  : false = true;
void sameProblem;

/** Every operation of the three services, by its operation id. */
export type Operations = reviews.operations & drp.operations & scorecard.operations;

export interface IroClient {
  reviews: Client<reviews.paths>;
  drp: Client<drp.paths>;
  scorecard: Client<scorecard.paths>;
}

/**
 * A client for the three services at one base URL (the gateway, or `make run`'s
 * http://127.0.0.1:8000), sending `token` as a bearer token on every request.
 */
export function createIroClient(
  baseUrl: string,
  token: string,
  options: Omit<ClientOptions, "baseUrl" | "headers"> = {},
): IroClient {
  const shared: ClientOptions = {
    ...options,
    baseUrl,
    headers: { Authorization: `Bearer ${token}` },
  };
  return {
    reviews: createClient<reviews.paths>(shared),
    drp: createClient<drp.paths>(shared),
    scorecard: createClient<scorecard.paths>(shared),
  };
}
