import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { installAbility } from './ability';
import App from './App.vue';
import { router } from './router';
import './styles.css';

const app = createApp(App);
// Pinia first: the router's guard and the API client use the session store.
app.use(createPinia());
installAbility(app);
app.use(router);
app.mount('#app');
