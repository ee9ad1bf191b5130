// A command the palette can run.
export interface Command { id: string; title: string; hint?: string; run: () => void }
