// What the inspector says when the session API refuses it. Pure logic.

import type { Failure } from "../errors";

export interface AccessProblem {
  readonly title: string;
  readonly detail: string;
  /** Whether typing a (different) token could help. */
  readonly askForToken: boolean;
}

export const ENABLE_HINT =
  "Set INSPECTOR_TOKEN in session-api's environment (for `make dev` and `docker compose` in " +
  ".env; a random string such as the output of `openssl rand -hex 32`, at least 32 characters " +
  "when APP_ENV=production), restart session-api, then enter the same token here.";

/** The problem to show for a failed inspector call, or null when it is not about access. */
export function accessProblem(failure: Failure): AccessProblem | null {
  if (failure.kind !== "api" || failure.status !== 401) {
    return null;
  }
  if (failure.code === "inspector_disabled") {
    return { title: "The inspector is off", detail: ENABLE_HINT, askForToken: false };
  }
  return {
    title: "Operator token needed",
    detail: "Enter the operator token (the value of INSPECTOR_TOKEN). " + failure.message,
    askForToken: true,
  };
}
