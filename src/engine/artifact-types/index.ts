/**
 * The artifact types, in canonical order (the order of `artifact_kinds` after loading, of
 * computing and of publishing). This list drives the config, the CLI, the gates, the
 * compute stage, the worker and the docs' type list (test/engine/artifact-types).
 * Adding a type: one module beside this file, one line here, its tests
 * (docs/adding-an-artifact-type.md).
 */
import type { ArtifactTypeDef } from './artifact-type';
import { contentSim } from './content-sim';
import { cooc } from './cooc';
import { implicit } from './implicit';
import { popularity } from './popularity';
import { sessionSeq } from './session-seq';

export const ARTIFACT_TYPE_DEFS = [popularity, cooc, implicit, contentSim, sessionSeq] as const;

export type ArtifactType = (typeof ARTIFACT_TYPE_DEFS)[number]['name'];

/** The type names in canonical order. */
export const ARTIFACT_TYPES: readonly ArtifactType[] = ARTIFACT_TYPE_DEFS.map((d) => d.name);

/** Any type's definition, with its kernel's input and output left open (the worker's and the pipeline's view). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyArtifactTypeDef = ArtifactTypeDef<ArtifactType, any, any>;

const byName = new Map<string, AnyArtifactTypeDef>();
for (const def of ARTIFACT_TYPE_DEFS as readonly AnyArtifactTypeDef[]) {
  for (const name of [def.name, ...def.aliases]) {
    if (byName.has(name)) throw new Error(`artifact type name ${name} is declared twice`);
    byName.set(name, def);
  }
}

/** The definition of a type (by its name, never an alias). */
export function artifactType(name: ArtifactType): AnyArtifactTypeDef {
  const def = byName.get(name);
  if (def === undefined || def.name !== name) throw new Error(`unknown artifact type ${name}`);
  return def;
}

/** The artifact type a name or alias (`content`, `session`) stands for, or undefined. */
export function artifactTypeOf(name: string): ArtifactType | undefined {
  return byName.get(name)?.name;
}

/** Every accepted alias and the type it stands for. */
export function artifactAliases(): Array<[alias: string, type: ArtifactType]> {
  return ARTIFACT_TYPE_DEFS.flatMap((d) => d.aliases.map((a): [string, ArtifactType] => [a, d.name]));
}

/** `popularity, cooc, …; aliases: content, session`: the valid spellings, for error messages. */
export function describeArtifactTypes(): string {
  const aliases = artifactAliases().map(([a]) => a);
  return `${ARTIFACT_TYPES.join(', ')}${aliases.length ? `; aliases: ${aliases.join(', ')}` : ''}`;
}
