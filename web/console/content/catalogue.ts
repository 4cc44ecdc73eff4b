import { ElMessage } from 'element-plus';
import { loadProducts, productGroups, productName } from '@shared/products';
import { errorText } from './labels';

/**
 * The product catalogue for a console page (`GET /api/v1/products`, loaded once per page load):
 * names for product ids and options grouped by type. A failed load is shown in Chinese.
 */
export function useCatalogue() {
  loadProducts().catch((e: unknown) => ElMessage.error(`产品目录加载失败：${errorText(e)}`));
  return { productGroups, productName };
}
