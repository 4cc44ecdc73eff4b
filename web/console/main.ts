import { createApp } from 'vue';
import ElementPlus, { ElMessage } from 'element-plus';
import zhCn from 'element-plus/es/locale/lang/zh-cn';
import 'element-plus/dist/index.css';
import { whenUnauthenticated, ApiError } from '@shared/api';
import App from './App.vue';
import { router } from './router';
import { session } from './session';
import './console.css';

const app = createApp(App);
app.use(ElementPlus, { locale: zhCn });
app.use(router);
whenUnauthenticated(() => {
  session.me = undefined;
  if (router.currentRoute.value.name !== 'login') void router.push({ name: 'login', query: { next: router.currentRoute.value.fullPath } });
});
// An error nobody caught is shown in Chinese rather than lost in the console.
app.config.errorHandler = (error) => {
  ElMessage.error(error instanceof ApiError ? error.message : '页面出错了，请刷新后重试。');
};
app.mount('#app');
