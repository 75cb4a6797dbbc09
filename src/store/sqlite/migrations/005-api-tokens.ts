/** API tokens: names, revocation and rotation (issue 4, tenant isolation). Filled in by the tokens work. */
export const apiTokens = `
SELECT 1;
`;
