// ESLint (flat config): the browser's ES modules in app/static/js, the Node tests in tests/js, the Lighthouse runner in bench.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["app/static/vendor/**", "node_modules/**", ".venv/**", "app/static/css/**"] },
  js.configs.recommended,
  {
    rules: {
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-throw-literal": "error",
      "prefer-const": "error",
      curly: ["error", "multi-line"],
    },
  },
  {
    files: ["app/static/js/**/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.browser } },
  },
  {
    files: ["app/static/js/**/*.js"],
    rules: { "no-var": "error" },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js", "bench/**/*.mjs"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
    rules: { "no-var": "error" },
  },
  {
    files: ["tailwind.config.js"],
    languageOptions: { sourceType: "commonjs", globals: { ...globals.node } },
  },
];
