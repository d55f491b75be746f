/** What a command works on: one tenant's surface, and the segment written into its artifacts ('' for none). */
export interface Scope {
  tenant: string;
  surface: string;
  segment: string;
}
