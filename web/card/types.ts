import type { ProductFacts, ProductSummary } from '@shared/products';

/** The public pages' API answers (src/cards/public.ts). */
export interface ThemeColors {
  primary: string;
  onPrimary: string;
  background: string;
  surface: string;
  text: string;
  muted: string;
  accent: string;
}

export interface CardTheme {
  key: string;
  name: string;
  description: string;
  colors: ThemeColors;
  layout: { header: 'banner' | 'centered'; avatar: 'circle' | 'rounded'; products: 'list' | 'grid' };
}


export interface PublicCard {
  member: { id: string; name: string; title: string | null; branch: string | null; photoUrl: string | null; qualifications: string[]; intro: string };
  theme: CardTheme;
  qr: { url: string; state: string } | null;
  products: (ProductSummary & { url: string })[];
  materials: { id: string; kind: string; title: string; text: string; linkTitle: string | null; linkDesc: string | null; url: string | null; disclosures: string[] }[];
  disclosures: string[];
  share: { token: string } | null;
}

export interface PublicProduct {
  product: ProductSummary & ProductFacts & {
    disclosures: string[];
    notices: string[];
  };
  member: { id: string; name: string; title: string | null; branch: string | null; url: string } | null;
}

/** CSS variables of a theme, set on the page's root element. */
export function themeStyle(colors: ThemeColors): Record<string, string> {
  return {
    '--card-primary': colors.primary,
    '--card-on-primary': colors.onPrimary,
    '--card-bg': colors.background,
    '--card-surface': colors.surface,
    '--card-text': colors.text,
    '--card-muted': colors.muted,
    '--card-accent': colors.accent,
    '--van-primary-color': colors.primary,
  };
}
