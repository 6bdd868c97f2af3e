/**
 * A cost dashboard's data layer, written against the typed documents graphql-codegen generates
 * from operations/*.graphql: it compiles only while every operation, variable, enum and field
 * it reads matches the schema Meterr serves.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import {
  Client,
  cacheExchange,
  fetchExchange,
  subscriptionExchange,
  type CombinedError,
  type ExecutionResult,
} from "@urql/core";
import { print } from "graphql";
import {
  createClient,
  type Client as LiveClient,
  type FormattedExecutionResult,
} from "graphql-ws";

import { addDecimals, sameDecimal } from "./decimal";
import {
  AddBudgetDocument,
  BudgetAlertsDocument,
  BudgetListDocument,
  CostChartDocument,
  CostsByGroupDocument,
  DashboardViewerDocument,
  LiveCostsDocument,
  LiveUsageDocument,
  NotificationListDocument,
  RecentEventsDocument,
  SpendForecastDocument,
  TeamListDocument,
  TrackTestUsageDocument,
  UsageExceededAlertsDocument,
  UsageHistoryDocument,
  UsageOverviewDocument,
  type AmountFieldsFragment,
  type BudgetAction,
  type BudgetFieldsFragment,
  type BudgetPeriod,
  type CostDimension,
  type CostGroupFieldsFragment,
  type Interval,
  type KeyOperation,
  type MemberRole,
  type NotificationType,
  type BudgetListQueryVariables,
  type NotificationFieldsFragment,
  type RecentEventsQueryVariables,
  type SeriesForecastFieldsFragment,
  type TeamListQueryVariables,
  type Tier,
  type UsageEventFieldsFragment,
  type UsageFilterInput,
} from "./gql/graphql";
import { isJsonObject, type JsonValue } from "./json";

/** A switch that forgets a value of an enum stops compiling when the schema adds one. */
function unreachable(value: never): never {
  throw new Error(`unhandled value: ${String(value)}`);
}

function failed(panel: string, error: CombinedError | undefined): Error {
  return error ?? new Error(`${panel}: no data in the answer`);
}

// ---------------------------------------------------------------------------------------------
// Connections: queries and mutations over HTTP, subscriptions over graphql-ws.

/** A graphql-ws result as urql takes it: fields absent rather than undefined. */
function asUrqlResult(
  result: FormattedExecutionResult<Record<string, unknown>, Record<string, unknown>>,
): ExecutionResult {
  return {
    data: result.data ?? null,
    ...(result.errors === undefined ? {} : { errors: result.errors }),
    ...(result.extensions === undefined ? {} : { extensions: result.extensions }),
  };
}

export interface Connections {
  readonly client: Client;
  readonly live: LiveClient;
}

export function connect(baseUrl: string, apiKey: string): Connections {
  const live = createClient({
    url: `${baseUrl.replace(/^http/, "ws")}/graphql`,
    connectionParams: { Authorization: `Bearer ${apiKey}` },
    lazy: true,
  });
  const client = new Client({
    url: `${baseUrl}/graphql`,
    fetchOptions: { headers: { Authorization: `Bearer ${apiKey}` } },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const payload = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = live.subscribe<Record<string, unknown>, Record<string, unknown>>(
                payload,
                {
                  next: (result) => sink.next(asUrqlResult(result)),
                  error: (error) => sink.error(error),
                  complete: () => sink.complete(),
                },
              );
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, live };
}

/** A typed subscription straight on graphql-ws, as an async iterator of its results. */
async function* liveResults<Data, Variables extends Record<string, unknown>>(
  live: LiveClient,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): AsyncGenerator<Data> {
  for await (const result of live.iterate<Data>({ query: print(document), variables })) {
    if (result.errors !== undefined && result.errors.length > 0) {
      throw new Error(result.errors.map((error) => error.message).join("; "));
    }
    if (result.data != null) {
      yield result.data;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Header: who is calling.

export interface Header {
  readonly organization: string;
  readonly plan: string;
  readonly permissions: readonly string[];
  readonly canManageBudgets: boolean;
  readonly requestsLeft: string;
}

function planLabel(tier: Tier): string {
  switch (tier) {
    case "FREE":
      return "Free";
    case "PRO":
      return "Pro";
    case "ENTERPRISE":
      return "Enterprise";
    default:
      return unreachable(tier);
  }
}

function permissionLabel(operation: KeyOperation): string {
  switch (operation) {
    case "INGEST":
      return "report usage";
    case "READ":
      return "read costs";
    case "INVITE":
      return "invite members";
    case "MANAGE":
      return "manage budgets and teams";
    default:
      return unreachable(operation);
  }
}

export async function loadHeader(client: Client): Promise<Header> {
  const result = await client.query(DashboardViewerDocument, {}).toPromise();
  const viewer = result.data?.viewer;
  if (viewer == null) throw failed("viewer", result.error);
  const rateLimit = viewer.rateLimit;
  const remaining: number | null = rateLimit?.remaining ?? null;
  const organization: string = viewer.team === null
    ? viewer.organization.name
    : `${viewer.organization.name} / ${viewer.team.name}`;
  return {
    organization,
    plan: planLabel(viewer.organization.tier),
    permissions: viewer.allowed.map(permissionLabel),
    canManageBudgets: viewer.allowed.includes("MANAGE"),
    requestsLeft:
      rateLimit === null || remaining === null
        ? "unlimited"
        : `${remaining} until ${rateLimit.resetAt}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Overview and breakdown.

export interface DateRange {
  readonly startDate?: string;
  readonly endDate?: string;
  readonly tz?: string;
}

export interface CostRow {
  readonly key: string;
  readonly label: string;
  readonly requests: number;
  readonly tokens: number;
  readonly total: number;
  readonly totalExact: string;
  readonly unpricedRequests: number;
}

function costRow(group: CostGroupFieldsFragment): CostRow {
  const name: string = group.name ?? group.key;
  return {
    key: group.key,
    label: group.deleted ? `${name} (deleted)` : name,
    requests: group.requests,
    tokens: group.tokens,
    total: group.total.value,
    totalExact: group.total.amount,
    unpricedRequests: group.unpricedRequests,
  };
}

function dimensionLabel(dimension: CostDimension): string {
  switch (dimension) {
    case "PROVIDER":
      return "provider";
    case "MODEL":
      return "model";
    case "TEAM":
      return "team";
    case "USER":
      return "user";
    case "ENDPOINT":
      return "endpoint";
    case "API_KEY":
      return "API key";
    case "DAY":
      return "day";
    case "WEEK":
      return "week";
    case "MONTH":
      return "month";
    case "METADATA":
      return "metadata";
    default:
      return unreachable(dimension);
  }
}

export interface Overview {
  readonly start: string;
  readonly end: string;
  readonly requests: number;
  readonly tokens: number;
  readonly totalExact: string;
  readonly providers: readonly CostRow[];
  /** Whether the providers' exact totals add up to the period's. */
  readonly balanced: boolean;
}

export async function loadOverview(
  client: Client,
  range: DateRange,
  filter: UsageFilterInput = {},
): Promise<Overview> {
  const result = await client.query(UsageOverviewDocument, { ...range, filter }).toPromise();
  const usage = result.data?.usage;
  if (usage == null) throw failed("usage", result.error);
  const providersTotal = addDecimals(usage.providers.map((group) => group.total.amount));
  return {
    start: usage.start,
    end: usage.end,
    requests: usage.totals.requests,
    tokens: usage.totals.tokens,
    totalExact: usage.totals.total.amount,
    providers: usage.providers.map(costRow),
    balanced: sameDecimal(providersTotal, usage.totals.total.amount),
  };
}

export interface Breakdown {
  readonly title: string;
  readonly rows: readonly CostRow[];
  readonly totalExact: string;
}

export async function loadBreakdown(
  client: Client,
  groupBy: CostDimension,
  range: DateRange,
  filter: UsageFilterInput = {},
  metadataKey: string | null = null,
): Promise<Breakdown> {
  const variables = { groupBy, metadataKey, filter, ...range };
  const result = await client.query(CostsByGroupDocument, variables).toPromise();
  const costs = result.data?.costs;
  if (costs == null) throw failed("costs", result.error);
  const by = groupBy === "METADATA" && metadataKey !== null ? metadataKey : dimensionLabel(groupBy);
  return {
    title: `Cost by ${by}`,
    rows: costs.map(costRow),
    totalExact: addDecimals(costs.map((group) => group.total.amount)),
  };
}

// ---------------------------------------------------------------------------------------------
// Charts.

function intervalLabel(interval: Interval, start: string): string {
  switch (interval) {
    case "HOUR":
      return start.slice(11, 16);
    case "DAY":
      return start.slice(0, 10);
    case "WEEK":
      return `week of ${start.slice(0, 10)}`;
    case "MONTH":
      return start.slice(0, 7);
    default:
      return unreachable(interval);
  }
}

export interface StackedChart {
  /** One stack per series, largest first; "(other)" last when smaller groups were summed. */
  readonly series: readonly string[];
  readonly bars: ReadonlyArray<{ readonly label: string; readonly stacks: readonly number[] }>;
}

export async function loadCostChart(
  client: Client,
  groupBy: CostDimension,
  interval: Interval,
  range: DateRange,
  filter: UsageFilterInput = {},
  first = 8,
): Promise<StackedChart> {
  const variables = { groupBy, interval, first, filter, ...range };
  const result = await client.query(CostChartDocument, variables).toPromise();
  const series = result.data?.costSeries;
  if (series == null) throw failed("costSeries", result.error);
  return {
    series: series.keys,
    bars: series.points.map((point) => {
      const byKey = new Map<string, number>(
        point.groups.map((group): [string, number] => [group.key, group.total.value]),
      );
      return {
        label: intervalLabel(series.interval, point.start),
        stacks: series.keys.map((key) => byKey.get(key) ?? 0),
      };
    }),
  };
}

export interface UsageLine {
  readonly label: string;
  readonly requests: number;
  readonly tokens: number;
  readonly cost: number;
}

export async function loadUsageHistory(
  client: Client,
  interval: Interval,
  range: DateRange,
  filter: UsageFilterInput = {},
): Promise<UsageLine[]> {
  const variables = { interval, filter, ...range };
  const result = await client.query(UsageHistoryDocument, variables).toPromise();
  const points = result.data?.usageHistory;
  if (points == null) throw failed("usageHistory", result.error);
  return points.map((point) => ({
    label: intervalLabel(interval, point.start),
    requests: point.requests,
    tokens: point.tokens,
    cost: point.total.value,
  }));
}

export interface ForecastBand {
  readonly today: string;
  readonly monthToDate: number;
  readonly monthEndExpected: number;
  readonly days: ReadonlyArray<{ date: string; cost: number; low: number; high: number }>;
  readonly groups: readonly string[];
}

function band(series: SeriesForecastFieldsFragment): ForecastBand["days"] {
  return series.forecast.map((day) => ({
    date: day.date,
    cost: day.cost.value,
    low: day.low95.value,
    high: day.high95.value,
  }));
}

export async function loadForecast(
  client: Client,
  horizon = 30,
  groupBy: CostDimension | null = null,
): Promise<ForecastBand> {
  const result = await client.query(SpendForecastDocument, { horizon, groupBy }).toPromise();
  const forecast = result.data?.costForecast;
  if (forecast == null) throw failed("costForecast", result.error);
  return {
    today: forecast.today,
    monthToDate: forecast.total.monthEnd.monthToDate.value,
    monthEndExpected: forecast.total.monthEnd.expected.value,
    days: band(forecast.total),
    groups: forecast.groups.map((group) => group.key ?? "(all)"),
  };
}

// ---------------------------------------------------------------------------------------------
// Paged lists: Relay connections, followed with pageInfo.endCursor.

export interface EventRow {
  readonly id: string;
  readonly at: string;
  readonly model: string;
  readonly tokens: number;
  /** The exact cost, or null while no price is known for the model. */
  readonly costExact: string | null;
  readonly feature: string | null;
}

/** A string field of an event's metadata, if the caller set one. */
function metadataString(metadata: JsonValue, key: string): string | null {
  if (!isJsonObject(metadata)) return null;
  const value = metadata[key];
  return typeof value === "string" ? value : null;
}

function eventRow(event: UsageEventFieldsFragment): EventRow {
  return {
    id: event.id,
    at: event.timestamp,
    model: `${event.provider}/${event.model}`,
    tokens: event.inputTokens + event.outputTokens,
    costExact: event.cost?.amount ?? null,
    feature: metadataString(event.metadata, "feature"),
  };
}

export async function loadEvents(
  client: Client,
  range: DateRange,
  filter: UsageFilterInput = {},
  pageSize = 100,
  maxPages = 10,
): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  let after: string | null | undefined = undefined;
  for (let page = 0; page < maxPages; page += 1) {
    const variables: RecentEventsQueryVariables = { first: pageSize, after, filter, ...range };
    const result = await client.query(RecentEventsDocument, variables).toPromise();
    const connection = result.data?.events;
    if (connection == null) throw failed("events", result.error);
    for (const edge of connection.edges) {
      rows.push(eventRow(edge.node));
    }
    if (!connection.pageInfo.hasNextPage || connection.pageInfo.endCursor === null) break;
    after = connection.pageInfo.endCursor;
  }
  return rows;
}

function formatAmount({ unit, value }: AmountFieldsFragment): string {
  switch (unit) {
    case "USD":
      return `$${value.toFixed(2)}`;
    case "TOKENS":
      return `${Math.round(value).toLocaleString("en-US")} tokens`;
    default:
      return unreachable(unit);
  }
}

function resetLabel(period: BudgetPeriod, periodEnd: string | null): string {
  switch (period) {
    case "DAY":
    case "WEEK":
    case "MONTH":
      return periodEnd === null ? "resets" : `resets ${periodEnd}`;
    case "TOTAL":
      return "never resets";
    default:
      return unreachable(period);
  }
}

function actionLabel(action: BudgetAction): string {
  switch (action) {
    case "ALERT":
      return "alerts";
    case "BLOCK":
      return "blocks calls";
    default:
      return unreachable(action);
  }
}

export interface BudgetGauge {
  readonly id: string;
  readonly name: string;
  readonly used: string;
  readonly percent: number;
  readonly state: "ok" | "warning" | "over";
  readonly caption: string;
  readonly projected: string | null;
}

function budgetGauge(budget: BudgetFieldsFragment): BudgetGauge {
  const warnAt = budget.thresholds.find((threshold) => threshold < 100) ?? 80;
  return {
    id: budget.id,
    name: budget.name,
    used: `${formatAmount(budget.current)} of ${formatAmount(budget.limit)}`,
    percent: budget.percent,
    state: budget.exceeded ? "over" : budget.percent >= warnAt ? "warning" : "ok",
    caption: `${actionLabel(budget.action)}, ${resetLabel(budget.period, budget.periodEnd)}`,
    projected:
      budget.projected === null
        ? null
        : `${formatAmount(budget.projected)}${budget.exceedsOn === null ? "" : `, over on ${budget.exceedsOn}`}`,
  };
}

export interface BudgetBoard {
  readonly gauges: readonly BudgetGauge[];
  /** The first budget's spend, for the header's badge. */
  readonly firstSpend: number | null;
  /** Spend of the USD budgets on the page, exact. */
  readonly usdSpentExact: string;
}

export async function loadBudgets(client: Client, first = 50): Promise<BudgetBoard> {
  const gauges: BudgetGauge[] = [];
  const usdSpent: string[] = [];
  let firstSpend: number | null = null;
  let after: string | null | undefined = undefined;
  for (;;) {
    const variables: BudgetListQueryVariables = { first, after };
    const result = await client.query(BudgetListDocument, variables).toPromise();
    const budgets = result.data?.budgets;
    if (budgets == null) throw failed("budgets", result.error);
    const head = budgets.nodes[0];
    if (firstSpend === null && head !== undefined) {
      const current: number = head.current.value;
      firstSpend = current;
    }
    for (const node of budgets.nodes) {
      if (node.current.unit === "USD") usdSpent.push(node.current.amount);
    }
    gauges.push(...budgets.edges.map((edge) => budgetGauge(edge.node)));
    const next: string | null = budgets.pageInfo.endCursor;
    if (!budgets.pageInfo.hasNextPage || next === null) break;
    after = next;
  }
  return { gauges, firstSpend, usdSpentExact: addDecimals(usdSpent) };
}

function roleLabel(role: MemberRole): string {
  switch (role) {
    case "ADMIN":
      return "admin";
    case "MEMBER":
      return "member";
    case "VIEWER":
      return "viewer";
    default:
      return unreachable(role);
  }
}

export interface TeamRow {
  readonly id: string;
  readonly name: string;
  readonly members: readonly string[];
  readonly spentThisMonthExact: string;
}

export async function loadTeams(client: Client, first = 50): Promise<TeamRow[]> {
  const rows: TeamRow[] = [];
  let after: string | null | undefined = undefined;
  for (;;) {
    const variables: TeamListQueryVariables = { first, after };
    const result = await client.query(TeamListDocument, variables).toPromise();
    const teams = result.data?.teams;
    if (teams == null) throw failed("teams", result.error);
    for (const { node } of teams.edges) {
      rows.push({
        id: node.id,
        name: node.name,
        members: node.members.map((member) => `${member.email} (${roleLabel(member.role)})`),
        spentThisMonthExact: node.spendThisMonth.total.amount,
      });
    }
    if (!teams.pageInfo.hasNextPage || teams.pageInfo.endCursor === null) break;
    after = teams.pageInfo.endCursor;
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Alerts: each kind of notification is a type of its own, told apart by __typename.

/** The notifications a budget raises. */
type AlertEvent = Extract<NotificationType, "THRESHOLD_REACHED" | "FORECAST_EXCEEDED" | "USAGE_EXCEEDED">;

const ALERT_EVENTS: readonly AlertEvent[] = ["THRESHOLD_REACHED", "FORECAST_EXCEEDED", "USAGE_EXCEEDED"];

export interface Alert {
  readonly id: string;
  readonly at: string;
  readonly event: AlertEvent;
  readonly budgetId: string;
  readonly message: string;
}

/** The alert a notification tells, or null for another kind. */
export function readAlert(notification: NotificationFieldsFragment): Alert | null {
  const at = notification.created;
  switch (notification.__typename) {
    case "ThresholdReached": {
      const { id, budgetId, budgetName, threshold } = notification;
      return { id, at, event: "THRESHOLD_REACHED", budgetId, message: `${budgetName} reached ${threshold}% of its limit` };
    }
    case "ForecastExceeded": {
      const { id, budgetId, budgetName, exceedsOn } = notification;
      const when = exceedsOn === null ? "" : ` on ${exceedsOn}`;
      return { id, at, event: "FORECAST_EXCEEDED", budgetId, message: `${budgetName} is forecast to exceed its limit${when}` };
    }
    case "UsageExceeded": {
      const { id, budgetId, budgetName, percent } = notification;
      return { id, at, event: "USAGE_EXCEEDED", budgetId, message: `${budgetName} is at ${percent.toFixed(0)}% of its limit` };
    }
    case "MemberJoined":
    case "UsageTracked":
      return null;
    default:
      return unreachable(notification);
  }
}

export async function loadAlerts(client: Client, first = 20): Promise<Alert[]> {
  const types = [...ALERT_EVENTS];
  const result = await client.query(NotificationListDocument, { types, first }).toPromise();
  const notifications = result.data?.notifications;
  if (notifications == null) throw failed("notifications", result.error);
  return notifications.edges.flatMap(({ node }) => readAlert(node) ?? []);
}

// ---------------------------------------------------------------------------------------------
// Live panels.

/** Redraws the breakdown each time Meterr's costs change; returns the way to stop. */
export function watchCosts(
  client: Client,
  groupBy: CostDimension,
  range: DateRange,
  redraw: (rows: readonly CostRow[], totalExact: string) => void,
): () => void {
  const subscription = client
    .subscription(LiveCostsDocument, { groupBy, ...range })
    .subscribe((result) => {
      const groups = result.data?.costFeed;
      if (groups === undefined) return;
      redraw(groups.map(costRow), addDecimals(groups.map((group) => group.total.amount)));
    });
  return () => subscription.unsubscribe();
}

/** A budget's alerts as they fire (every budget's when budgetId is null). */
export function watchBudgetAlerts(
  client: Client,
  budgetId: string | null,
  show: (alert: Alert) => void,
): () => void {
  const subscription = client
    .subscription(BudgetAlertsDocument, { budgetId })
    .subscribe((result) => {
      const notification = result.data?.budgetEvents;
      const alert = notification === undefined ? null : readAlert(notification);
      if (alert !== null) show(alert);
    });
  return () => subscription.unsubscribe();
}

/**
 * The live event feed from `after` on (an event id; null: from now): pass the last id seen
 * when reconnecting and nothing is missed or repeated.
 */
export async function* followUsage(
  live: LiveClient,
  filter: UsageFilterInput,
  after: string | null,
): AsyncGenerator<EventRow> {
  for await (const data of liveResults(live, LiveUsageDocument, { filter, after })) {
    yield eventRow(data.usageTracked);
  }
}

/** Limits exceeded, of one team's budgets or of all, as alerts. */
export async function* followExceeded(
  live: LiveClient,
  teamId: string | null,
  after: string | null,
): AsyncGenerator<Alert> {
  for await (const data of liveResults(live, UsageExceededAlertsDocument, { teamId, after })) {
    const alert = readAlert(data.usageExceeded);
    if (alert !== null) yield alert;
  }
}

// ---------------------------------------------------------------------------------------------
// Writes.

export interface TestEventOutcome {
  readonly eventId: string;
  readonly costExact: string | null;
  readonly replayed: boolean;
  readonly overBudgetIds: readonly string[];
}

/** The setup page's "send a test event": the same key replays instead of counting twice. */
export async function sendTestEvent(
  client: Client,
  idempotencyKey: string,
  teamId: string | null,
): Promise<TestEventOutcome> {
  const result = await client
    .mutation(TrackTestUsageDocument, {
      input: {
        provider: "openai",
        model: "gpt-4o-mini",
        inputTokens: 1000,
        outputTokens: 200,
        metadata: { feature: "dashboard-setup", test: true },
        teamId,
      },
      idempotencyKey,
    })
    .toPromise();
  const tracked = result.data?.trackUsage;
  if (tracked === undefined) throw failed("trackUsage", result.error);
  return {
    eventId: tracked.event.eventId,
    costExact: tracked.event.cost?.amount ?? null,
    replayed: tracked.replayed,
    overBudgetIds: tracked.overBudget ? tracked.overBudgetIds : [],
  };
}

/** A monthly USD budget; `limit` is a decimal string ("250.00"), exact as typed. */
export async function addMonthlyBudget(
  client: Client,
  name: string,
  limit: string,
  action: BudgetAction,
  teamId: string | null = null,
): Promise<BudgetGauge> {
  const result = await client
    .mutation(AddBudgetDocument, {
      input: { name, limit, unit: "USD", period: "MONTH", thresholds: [50, 80, 100], action, teamId },
    })
    .toPromise();
  const budget = result.data?.createBudget;
  if (budget === undefined) throw failed("createBudget", result.error);
  return budgetGauge(budget);
}
