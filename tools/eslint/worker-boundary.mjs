/**
 * Local ESLint rule `recsys/worker-boundary`: a worker-side file may not import from the
 * folders and files named in the options (the S3, registry and Postgres code, the pipeline,
 * the pool, the CLI), so the worker thread never loads them.
 *
 * Import specifiers are resolved against the importing file before they are compared, so
 * '../../io/store/registry', '../store' and './pool' are all caught whatever the importing
 * file's depth (a pattern of no-restricted-imports only sees the string). Checked: import and
 * export ... from, import(), require(), import x = require(). Type-only imports
 * (`import type`, `export type`) are allowed: tsc erases them, so they load nothing.
 *
 * Options: { root: absolute path of the repository, forbidden: [{ path, reason }] } with
 * `path` relative to root: a folder (everything under it) or a module without extension.
 */
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Keep main-thread-only modules out of the worker import closure' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          forbidden: {
            type: 'array',
            items: {
              type: 'object',
              properties: { path: { type: 'string' }, reason: { type: 'string' } },
              required: ['path', 'reason'],
              additionalProperties: false,
            },
          },
        },
        required: ['root', 'forbidden'],
        additionalProperties: false,
      },
    ],
    messages: {
      forbidden: "Worker-side code must not import '{{specifier}}' ({{target}}): {{reason}}.",
    },
  },
  create(context) {
    const { root, forbidden } = context.options[0];
    const rules = forbidden.map((f) => ({ ...f, abs: resolve(root, f.path) }));
    const fromDir = dirname(context.filename);

    /** The forbidden entry that `specifier` resolves into, if any. Packages are never forbidden. */
    function match(specifier) {
      if (!specifier.startsWith('.') && !isAbsolute(specifier)) return null;
      const target = resolve(fromDir, specifier)
        .replace(/\.(c|m)?(t|j)s$/, '')
        .replace(/[\\/]index$/, '');
      return rules.find((r) => target === r.abs || target.startsWith(r.abs + sep)) ?? null;
    }

    function check(sourceNode) {
      if (!sourceNode || sourceNode.type !== 'Literal' || typeof sourceNode.value !== 'string') return;
      const hit = match(sourceNode.value);
      if (hit) {
        context.report({
          node: sourceNode,
          messageId: 'forbidden',
          data: { specifier: sourceNode.value, target: relative(root, resolve(fromDir, sourceNode.value)), reason: hit.reason },
        });
      }
    }

    const typeOnly = (node) =>
      node.importKind === 'type' ||
      node.exportKind === 'type' ||
      (node.specifiers?.length > 0 && node.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));

    return {
      ImportDeclaration(node) {
        if (!typeOnly(node)) check(node.source);
      },
      ExportNamedDeclaration(node) {
        if (node.source && !typeOnly(node)) check(node.source);
      },
      ExportAllDeclaration(node) {
        if (node.exportKind !== 'type') check(node.source);
      },
      ImportExpression(node) {
        check(node.source);
      },
      TSImportEqualsDeclaration(node) {
        if (node.importKind !== 'type' && node.moduleReference.type === 'TSExternalModuleReference') check(node.moduleReference.expression);
      },
      CallExpression(node) {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1) check(node.arguments[0]);
      },
    };
  },
};

export default { meta: { name: 'recsys' }, rules: { 'worker-boundary': rule } };
