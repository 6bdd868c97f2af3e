/**
 * Exact sums of the schema's decimal strings (each Money's and BudgetAmount's `amount`):
 * "0.1" + "0.2" is "0.3", where the Float beside them would drift.
 */

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

interface Fixed {
  readonly units: bigint;
  readonly scale: number;
}

function parse(value: string): Fixed {
  const match = DECIMAL.exec(value);
  if (match === null) {
    throw new RangeError(`not a decimal string: ${JSON.stringify(value)}`);
  }
  const [, sign = "", whole = "0", fraction = ""] = match;
  const units = BigInt(whole + fraction);
  return { units: sign === "-" ? -units : units, scale: fraction.length };
}

function rescale(value: Fixed, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function format(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = scale === 0 ? digits : digits.slice(0, -scale);
  const fraction = scale === 0 ? "" : `.${digits.slice(-scale)}`;
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** The exact sum of decimal strings, with as many decimals as the longest of them. */
export function addDecimals(values: Iterable<string>): string {
  const parsed = Array.from(values, parse);
  const scale = parsed.reduce((widest, value) => Math.max(widest, value.scale), 0);
  const units = parsed.reduce((sum, value) => sum + rescale(value, scale), 0n);
  return format(units, scale);
}

/** Whether two decimal strings are the same amount ("1.50" and "1.5" are). */
export function sameDecimal(a: string, b: string): boolean {
  const left = parse(a);
  const right = parse(b);
  const scale = Math.max(left.scale, right.scale);
  return rescale(left, scale) === rescale(right, scale);
}
