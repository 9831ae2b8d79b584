import type { Page } from "../api/types";

export type NamespaceList = Page<{ name: string }>;
