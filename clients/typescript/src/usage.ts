// Calls a front end makes, type-checked against the generated types: if a route, a parameter
// or a field they use changes shape, `tsc` fails here before any front end does.
import { createIroClient, type Problem } from "./index";

export async function firstPageOfChildren(baseUrl: string, token: string): Promise<string[]> {
  const client = createIroClient(baseUrl, token);
  const { data, error, response } = await client.reviews.GET("/reviews/v1/children", {
    params: { query: { limit: 50 } },
  });
  if (error !== undefined) {
    const problem: Problem = error;
    throw new Error(`${problem.status} ${problem.title}: ${problem.detail}`);
  }
  const etag: string | null = response.headers.get("ETag");
  void etag;
  return data.items.map((child) => child.id);
}

export async function scorecardCodes(baseUrl: string, token: string): Promise<string[]> {
  const client = createIroClient(baseUrl, token);
  const { data, error } = await client.scorecard.GET("/scorecard/v1/scorecard", {});
  if (error !== undefined) {
    throw new Error(error.detail);
  }
  // The scorecard also comes as CSV, XLSX or HTML (by Accept): JSON is the object.
  if (typeof data === "string") {
    throw new Error("asked for JSON");
  }
  return (data.columns[0]?.kpis ?? []).map((kpi) => kpi.code);
}

export async function disputeTracker(baseUrl: string, token: string): Promise<number> {
  const client = createIroClient(baseUrl, token);
  const { data, error } = await client.drp.GET("/drp/v1/tracker", {});
  if (error !== undefined) {
    throw new Error(error.detail);
  }
  if (typeof data === "string") {
    throw new Error("asked for JSON"); // the tracker also comes as CSV or XLSX
  }
  return data.items.length;
}
