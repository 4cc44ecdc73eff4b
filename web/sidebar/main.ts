import { createApp } from 'vue';
import Vant, { showNotify } from 'vant';
import 'vant/lib/index.css';
import { ApiError, whenUnauthenticated } from '@shared/api';
import App from './App.vue';
import { boot } from './boot';

const app = createApp(App);
app.use(Vant);
// The session ended (expired, or signed out elsewhere): start again, which signs in anew.
whenUnauthenticated(() => void boot());
// An error nobody caught is shown in Chinese rather than lost in the console.
app.config.errorHandler = (error) => {
  showNotify({ type: 'danger', message: error instanceof ApiError ? error.message : '页面出错了，请刷新后重试。' });
};
app.mount('#app');
