// The flyshard shop's page: plain browser JavaScript, no build step, no framework.
// Every string from the server reaches the page through textContent or an attribute value set
// with setAttribute/dataset, never through innerHTML.
'use strict';

(() => {
  const PER_PAGE = 12;
  const SEARCH_DEBOUNCE_MS = 250;
  const CLUSTER_REFRESH_MS = 2000;
  const STATS_REFRESH_MS = 2000;
  const FEED_MAX = 20;
  const FEED_RETRY_MS = 5000;  // wait before reopening an event stream the shop refused
  const MAX_QUANTITY = 99;    // the shop takes 0..99 of a product per cart line
  const TOKEN_KEY = 'flyshard-shop.token';

  const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

  // ---- small DOM helper -----------------------------------------------------------------------
  // el('li', {class: 'x', dataset: {id: 7}, testid: 'y', onclick: fn}, 'text', childNode, ...)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'testid') node.setAttribute('data-testid', v);
      else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else if (v === true) node.setAttribute(k, '');
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // ---- formatting -----------------------------------------------------------------------------
  const groupInt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  // Integer cents to "$1,234.05" without floating point: the server's prices are exact.
  function money(cents) {
    const n = Number(cents);
    if (!Number.isFinite(n)) return '—';
    const neg = n < 0;
    const abs = Math.abs(Math.trunc(n));
    const whole = Math.trunc(abs / 100);
    const frac = String(abs % 100).padStart(2, '0');
    return `${neg ? '−' : ''}$${groupInt.format(whole)}.${frac}`;
  }

  function toDate(v) {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'number') return new Date(v > 1e12 ? v : v * 1000);  // ms or seconds
    if (/^\d+$/.test(String(v))) return toDate(Number(v));
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  function clock(v) {
    const d = toDate(v);
    return d ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
  }
  function shortId(id) {
    const s = String(id ?? '');
    return s.length > 14 ? `${s.slice(0, 6)}…${s.slice(-6)}` : s;
  }
  function units(items) {
    return (items || []).reduce((n, it) => n + (Number(it.quantity) || 0), 0);
  }

  // ---- messages -------------------------------------------------------------------------------
  let messageTimer = 0;
  // kind: 'error' | 'success' | 'info'. Errors stay until dismissed or replaced.
  function showMessage(kind, text, code) {
    const box = $('message');
    box.replaceChildren(
      el('span', { class: 'message-text', testid: 'message-text' }, text),
      el('button', { type: 'button', class: 'message-close', 'aria-label': 'Dismiss',
                     onclick: () => { box.hidden = true; } }, '×'));
    box.className = `message ${kind}`;
    box.dataset.kind = kind;
    box.dataset.code = code || '';
    box.hidden = false;
    clearTimeout(messageTimer);
    if (kind !== 'error') messageTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // ---- HTTP -----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body, fallback) {
      super((body && body.message) || fallback || `HTTP ${status}`);
      this.status = status;            // 0: the request never got an answer
      this.code = (body && body.error) || (status ? `http_${status}` : 'network');
      this.body = body || {};
    }
  }

  async function request(method, path, { body, headers, auth } = {}) {
    const h = { Accept: 'application/json', ...(headers || {}) };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (auth) h.Authorization = `Bearer ${auth}`;
    let res;
    try {
      res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
                                cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, null, 'The shop cannot be reached. Check your connection and try again.');
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!res.ok) throw new ApiError(res.status, data, `${method} ${path}: HTTP ${res.status}`);
    return data;
  }

  // The visitor's session: a token kept in localStorage; a 401 means it is gone (the store
  // was reset, or it expired), so get a new one and repeat the call once.
  let token = localStorage.getItem(TOKEN_KEY) || '';
  let sessionPromise = null;
  function newSession() {
    if (!sessionPromise) {
      sessionPromise = request('POST', '/api/session').then((d) => {
        if (!d || typeof d.token !== 'string' || !d.token) throw new ApiError(500, null, 'The shop gave no session token.');
        token = d.token;
        localStorage.setItem(TOKEN_KEY, token);
        return token;
      }).finally(() => { sessionPromise = null; });
    }
    return sessionPromise;
  }
  async function authed(method, path, opts = {}) {
    if (!token) await newSession();
    try {
      return await request(method, path, { ...opts, auth: token });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      localStorage.removeItem(TOKEN_KEY);
      token = '';
      await newSession();
      onNewSession();
      return request(method, path, { ...opts, auth: token });
    }
  }
  function onNewSession() {
    myOrders.clear();
    state.orders = [];
    renderOrders();
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---- state ----------------------------------------------------------------------------------
  const state = {
    category: '',
    q: '',
    page: 1,
    total: 0,
    products: [],
    cart: { items: [], total_cents: 0 },
    orders: [],
    stock: new Map(),          // product id -> last stock seen (for out-of-stock messages)
    shortOf: new Map(),        // product id -> stock left, for lines a checkout refused
    checkoutKey: null,         // Idempotency-Key of the checkout attempt in progress
    checkingOut: false,
  };
  const myOrders = new Set();

  // ---- categories -----------------------------------------------------------------------------
  async function loadCategories() {
    const list = $('categories');
    try {
      const data = await request('GET', '/api/categories');
      const names = Array.isArray(data) ? data : (data && (data.items || data.categories)) || [];
      renderCategories(names.map(String));
      list.dataset.state = 'ready';
    } catch (e) {
      list.dataset.state = 'error';
      renderCategories([]);
      showMessage('error', `Categories could not be loaded: ${e.message}`, e.code);
    }
  }
  function renderCategories(names) {
    const item = (label, value) => el('li', {},
      el('button', {
        type: 'button', class: 'category', testid: 'category',
        dataset: { category: value }, 'aria-pressed': String(state.category === value),
        onclick: () => { state.category = value; state.page = 1; markCategory(); loadProducts(); },
      }, label));
    $('categories').replaceChildren(item('All products', ''), ...names.map((n) => item(n, n)));
  }
  function markCategory() {
    for (const b of document.querySelectorAll('[data-testid="category"]'))
      b.setAttribute('aria-pressed', String(b.dataset.category === state.category));
  }

  // ---- products -------------------------------------------------------------------------------
  let productsSeq = 0;
  async function loadProducts() {
    const seq = ++productsSeq;
    const grid = $('products');
    grid.dataset.state = 'loading';
    grid.setAttribute('aria-busy', 'true');
    saveView();
    const qs = new URLSearchParams({ page: String(state.page), per_page: String(PER_PAGE) });
    if (state.category) qs.set('category', state.category);
    if (state.q) qs.set('q', state.q);
    try {
      const data = await request('GET', `/api/products?${qs}`);
      if (seq !== productsSeq) return;  // a newer query has been sent since
      state.products = (data && data.items) || [];
      state.total = Number(data && data.total) || 0;
      for (const p of state.products) state.stock.set(String(p.id), Number(p.stock));
      renderProducts();
      grid.dataset.state = 'ready';
    } catch (e) {
      if (seq !== productsSeq) return;
      state.products = [];
      state.total = 0;
      renderProducts(`Products could not be loaded: ${e.message}`);
      grid.dataset.state = 'error';
    }
    grid.dataset.category = state.category;
    grid.dataset.q = state.q;
    grid.dataset.page = String(state.page);
    grid.setAttribute('aria-busy', 'false');
  }

  function renderProducts(errorText) {
    const grid = $('products');
    const title = state.category || 'All products';
    $('products-title').textContent = state.q ? `${title} · “${state.q}”` : title;
    $('products-total').textContent = errorText ? '' : `${state.total} product${state.total === 1 ? '' : 's'}`;
    if (errorText) {
      grid.replaceChildren(el('p', { class: 'grid-note error-text', testid: 'products-error' }, errorText));
    } else if (state.products.length === 0) {
      grid.replaceChildren(el('p', { class: 'grid-note muted', testid: 'products-empty' },
        state.q ? `Nothing matches “${state.q}”.` : 'No products here.'));
    } else {
      grid.replaceChildren(...state.products.map(productCard));
    }
    const pages = Math.max(1, Math.ceil(state.total / PER_PAGE));
    $('page-info').textContent = `Page ${state.page} of ${pages}`;
    $('page-prev').disabled = state.page <= 1;
    $('page-next').disabled = state.page >= pages;
    $('pagination').hidden = pages <= 1 && state.page <= 1;
  }

  // The view (category, search, page) lives in the address, so a reload or a shared link
  // shows the same products.
  function saveView() {
    const p = new URLSearchParams();
    if (state.category) p.set('category', state.category);
    if (state.q) p.set('q', state.q);
    if (state.page > 1) p.set('page', String(state.page));
    const s = p.toString();
    history.replaceState(null, '', `${location.pathname}${s ? `?${s}` : ''}${location.hash}`);
  }
  function loadView() {
    const p = new URLSearchParams(location.search);
    state.category = p.get('category') || '';
    state.q = (p.get('q') || '').trim();
    state.page = Math.max(1, Math.trunc(Number(p.get('page'))) || 1);
    $('search').value = state.q;
  }

  function stockLabel(stock) {
    if (stock <= 0) return 'Out of stock';
    if (stock <= 5) return `Only ${stock} left`;
    return `${stock} in stock`;
  }

  function productCard(p) {
    const stock = Number(p.stock) || 0;
    const out = stock <= 0;
    return el('article', {
      class: `product${out ? ' is-out' : ''}`, testid: 'product-card',
      dataset: { productId: p.id, stock, out: String(out) },
    },
      el('div', { class: 'product-top' },
        el('span', { class: 'tag', testid: 'product-category' }, p.category ?? ''),
        el('span', { class: `stock${out ? ' out' : stock <= 5 ? ' low' : ''}`, testid: 'product-stock' },
          stockLabel(stock))),
      el('h3', { class: 'product-name', testid: 'product-name' }, p.name ?? ''),
      el('div', { class: 'product-bottom' },
        el('span', { class: 'price', testid: 'product-price' }, money(p.price_cents)),
        el('button', {
          type: 'button', class: 'primary', testid: 'add-to-cart', disabled: out,
          'aria-label': `Add ${p.name ?? 'product'} to cart`,
          onclick: (ev) => addToCart(p, ev.currentTarget),
        }, out ? 'Sold out' : 'Add to cart')));
  }

  // ---- cart -----------------------------------------------------------------------------------
  // Cart changes run one after another, so two quick clicks make two increments, never one.
  let cartChain = Promise.resolve();
  function cartOp(fn) {
    const run = cartChain.then(fn, fn);
    cartChain = run.catch(() => {});
    return run;
  }

  function setCart(cart) {
    state.cart = {
      items: (cart && Array.isArray(cart.items)) ? cart.items : [],
      total_cents: Number(cart && cart.total_cents) || 0,
    };
    renderCart();
  }

  async function loadCart() {
    try {
      setCart(await authed('GET', '/api/cart'));
    } catch (e) {
      showMessage('error', `Your cart could not be loaded: ${e.message}`, e.code);
    }
  }

  function cartQuantity(productId) {
    const line = state.cart.items.find((it) => String(it.product_id) === String(productId));
    return line ? Number(line.quantity) || 0 : 0;
  }

  function cartChanged(productId) {
    // A different cart is a different checkout attempt: the next one gets a new key.
    state.checkoutKey = null;
    if (productId !== undefined) state.shortOf.delete(String(productId));
  }

  function addToCart(p, button) {
    return cartOp(async () => {
      if (button) button.disabled = true;
      try {
        const q = cartQuantity(p.id) + 1;
        cartChanged(p.id);
        setCart(await authed('PUT', `/api/cart/items/${encodeURIComponent(p.id)}`, { body: { quantity: q } }));
        showMessage('success', `Added ${p.name} to your cart.`);
      } catch (e) {
        showMessage('error', `Could not add ${p.name}: ${e.message}`, e.code);
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  function setQuantity(productId, quantity) {
    return cartOp(async () => {
      const q = Math.max(0, Math.trunc(Number(quantity) || 0));
      try {
        cartChanged(productId);
        setCart(await authed('PUT', `/api/cart/items/${encodeURIComponent(productId)}`, { body: { quantity: q } }));
      } catch (e) {
        showMessage('error', `Could not change the quantity: ${e.message}`, e.code);
        renderCart();  // put the input back to what the cart holds
      }
    });
  }

  function removeLine(productId) {
    return cartOp(async () => {
      try {
        cartChanged(productId);
        setCart(await authed('DELETE', `/api/cart/items/${encodeURIComponent(productId)}`));
      } catch (e) {
        showMessage('error', `Could not remove the item: ${e.message}`, e.code);
      }
    });
  }

  function renderCart() {
    const items = state.cart.items;
    const lines = items.map((it) => {
      const id = String(it.product_id);
      const qty = Number(it.quantity) || 0;
      const short = state.shortOf.get(id);
      const input = el('input', {
        type: 'number', min: '0', max: String(MAX_QUANTITY), step: '1', inputmode: 'numeric', class: 'qty-input',
        testid: 'cart-qty', value: String(qty), 'aria-label': `Quantity of ${it.name ?? id}`,
      });
      input.addEventListener('change', () => setQuantity(id, input.value));
      input.addEventListener('keydown', (e) => { if (e.key === 'Enter') input.blur(); });
      return el('li', { class: `cart-line${short !== undefined ? ' is-short' : ''}`, testid: 'cart-line',
                        dataset: { productId: id, quantity: qty } },
        el('div', { class: 'cart-line-main' },
          el('span', { class: 'cart-name', testid: 'cart-name' }, it.name ?? id),
          el('span', { class: 'muted small' }, `${money(it.price_cents)} each`),
          short !== undefined && el('span', { class: 'error-text small', testid: 'cart-line-error' },
            short > 0 ? `Only ${short} left` : 'Out of stock')),
        el('div', { class: 'qty' },
          el('button', { type: 'button', class: 'icon', testid: 'cart-dec', 'aria-label': 'One less',
                         onclick: () => setQuantity(id, qty - 1) }, '−'),
          input,
          el('button', { type: 'button', class: 'icon', testid: 'cart-inc', 'aria-label': 'One more',
                         disabled: qty >= MAX_QUANTITY,
                         onclick: () => setQuantity(id, qty + 1) }, '+')),
        el('span', { class: 'line-total', testid: 'cart-line-total' },
          money((Number(it.price_cents) || 0) * qty)),
        el('button', { type: 'button', class: 'link danger', testid: 'cart-remove',
                       'aria-label': `Remove ${it.name ?? id}`, onclick: () => removeLine(id) }, 'Remove'));
    });
    $('cart-lines').replaceChildren(...lines);
    $('cart-empty').hidden = items.length > 0;
    $('cart-total').textContent = money(state.cart.total_cents);
    const count = units(items);
    $('cart-count').textContent = String(count);
    const box = $('cart');
    box.dataset.state = 'ready';
    box.dataset.count = String(count);
    box.dataset.total = String(state.cart.total_cents);
    const btn = $('checkout');
    btn.disabled = items.length === 0 || state.checkingOut;
    btn.textContent = state.checkingOut ? 'Placing order…' : state.checkoutKey ? 'Retry checkout' : 'Check out';
  }

  // ---- checkout -------------------------------------------------------------------------------
  async function checkout() {
    if (state.checkingOut || state.cart.items.length === 0) return;
    // One key per attempt; a retry of the same attempt (after a network error or a 5xx, with
    // the cart unchanged) sends the same key, so the shop never makes a second order of it.
    if (!state.checkoutKey) state.checkoutKey = uuid();
    const key = state.checkoutKey;
    state.checkingOut = true;
    renderCart();
    try {
      await cartChain;
      const order = await authed('POST', '/api/checkout', { headers: { 'Idempotency-Key': key } });
      state.checkoutKey = null;
      state.shortOf.clear();
      if (order && order.order_id !== undefined) {
        rememberMine(order.order_id);
        upsertOrder(order);
      }
      setCart({ items: [], total_cents: 0 });
      showMessage('success',
        `Order ${shortId(order && order.order_id)} confirmed: ${money(order && order.total_cents)}` +
        (order && order.replicated ? ', stored on a replica too.' : '.'), 'order_confirmed');
      loadOrders();
    } catch (e) {
      await checkoutFailed(e);
    } finally {
      state.checkingOut = false;
      renderCart();
      loadProducts();  // stock changed (or we learnt it is lower than the page showed)
    }
  }

  async function checkoutFailed(e) {
    // Retriable: no answer, a server error, or the shop still working on this key (409
    // in_progress): the same attempt may have made an order, so keep its key for the retry.
    const retriable = !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || e.code === 'in_progress';
    if (!retriable) state.checkoutKey = null;
    if (e.code === 'out_of_stock') {
      const id = e.body.product_id !== undefined ? String(e.body.product_id) : '';
      const line = state.cart.items.find((it) => String(it.product_id) === id);
      let name = line ? line.name : id;
      let left = state.stock.get(id);
      try {
        const p = await request('GET', `/api/products/${encodeURIComponent(id)}`);
        if (p) { name = p.name ?? name; left = Number(p.stock); state.stock.set(id, left); }
      } catch { /* the message below still names the product */ }
      if (id) state.shortOf.set(id, Number.isFinite(left) ? left : 0);
      const wanted = line ? Number(line.quantity) : undefined;
      const detail = Number.isFinite(left)
        ? (left > 0 ? `only ${left} left${wanted ? `, you asked for ${wanted}` : ''}` : 'it is sold out')
        : 'not enough left';
      showMessage('error', `Out of stock: ${name} — ${detail}. Change the quantity and check out again.`,
        'out_of_stock');
      renderCart();
    } else if (e.status === 400) {
      showMessage('error', `Checkout refused: ${e.message}`, e.code);
      loadCart();
    } else if (e.code === 'in_progress') {
      showMessage('error', 'Your order is still being placed. Press “Retry checkout” in a moment: ' +
        'the retry returns that same order.', e.code);
    } else if (retriable) {
      showMessage('error', `Checkout did not complete: ${e.message}. Press “Retry checkout”: ` +
        'the retry cannot place the order twice.', e.code);
    } else {
      showMessage('error', `Checkout failed: ${e.message}`, e.code);
    }
  }

  // ---- orders ---------------------------------------------------------------------------------
  function orderTime(o) {
    const d = toDate(o.created_at);
    return d ? d.getTime() : 0;
  }
  // The feed may show an order before its checkout answer arrives (the event is published
  // before the shop answers): mark it as the visitor's once that is known.
  function rememberMine(id) {
    id = String(id);
    if (myOrders.has(id)) return;
    myOrders.add(id);
    const item = document.querySelector(`[data-testid="feed-item"][data-order-id="${CSS.escape(id)}"]`);
    if (item && !item.classList.contains('mine')) {
      item.classList.add('mine');
      item.querySelector('.feed-main > div').append(el('span', { class: 'badge info', testid: 'feed-mine' }, 'yours'));
    }
  }
  function upsertOrder(o) {
    const id = String(o.order_id);
    state.orders = [o, ...state.orders.filter((x) => String(x.order_id) !== id)];
    renderOrders();
  }
  async function loadOrders() {
    try {
      const data = await authed('GET', '/api/orders');
      const list = (data && data.items) || [];
      for (const o of list) rememberMine(o.order_id);
      state.orders = list.slice().sort((a, b) => orderTime(b) - orderTime(a));
      renderOrders();
      $('orders').dataset.state = 'ready';
    } catch (e) {
      $('orders').dataset.state = 'error';
      showMessage('error', `Your orders could not be loaded: ${e.message}`, e.code);
    }
  }
  function replicatedBadge(o, testid) {
    return o.replicated
      ? el('span', { class: 'badge ok', testid, title: 'Written to a replica before it was confirmed' }, 'replicated')
      : el('span', { class: 'badge warn', testid, title: 'Confirmed without a replica acknowledging it' }, 'not replicated');
  }
  function renderOrders() {
    const rows = state.orders.map((o) => el('li', {
      class: 'order', testid: 'order', dataset: { orderId: o.order_id, status: o.status ?? '',
                                                   replicated: String(Boolean(o.replicated)) } },
      el('div', { class: 'order-head' },
        el('span', { class: 'order-id', testid: 'order-id', title: String(o.order_id) }, `#${shortId(o.order_id)}`),
        el('span', { class: `status ${o.status ?? ''}`, testid: 'order-status' }, o.status ?? ''),
        replicatedBadge(o, 'order-replicated')),
      el('div', { class: 'order-items small' },
        (o.items || []).map((it) => `${it.quantity} × ${it.name ?? it.product_id}`).join(', ')),
      el('div', { class: 'order-foot' },
        el('span', { class: 'muted small' }, clock(o.created_at)),
        el('strong', { testid: 'order-total' }, money(o.total_cents)))));
    $('orders').replaceChildren(...rows);
    $('orders-empty').hidden = rows.length > 0;
  }

  // ---- live feed (server-sent events) ---------------------------------------------------------
  const feedSeen = new Set();
  function connectFeed() {
    const stateEl = $('feed-state');
    const setState = (s, label) => { stateEl.dataset.state = s; stateEl.textContent = label; };
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => setState('live', 'live'));
    // EventSource reconnects by itself after a dropped stream, but gives up for good when the
    // shop answers with an error (a 503 when too many streams are open): then start over later.
    es.addEventListener('error', () => {
      if (es.readyState !== EventSource.CLOSED) {
        setState('connecting', 'reconnecting');
        return;
      }
      setState('closed', 'disconnected');
      es.close();
      setTimeout(connectFeed, FEED_RETRY_MS);
    });
    es.addEventListener('order_completed', (ev) => {
      let o;
      try { o = JSON.parse(ev.data); } catch { return; }
      if (!o || o.order_id === undefined) return;
      addFeedItem(o);
    });
  }
  function addFeedItem(o) {
    const id = String(o.order_id);
    if (feedSeen.has(id)) return;
    feedSeen.add(id);
    const mine = myOrders.has(id);
    const item = el('li', { class: `feed-item${mine ? ' mine' : ''}`, testid: 'feed-item',
                            dataset: { orderId: id, status: o.status ?? '' } },
      el('span', { class: 'feed-dot', 'aria-hidden': 'true' }),
      el('div', { class: 'feed-main' },
        el('div', {},
          el('strong', { testid: 'feed-order-id', title: id }, `#${shortId(id)}`),
          ' ', el('span', { class: `status ${o.status ?? ''}`, testid: 'feed-status' }, o.status ?? ''),
          mine && el('span', { class: 'badge info', testid: 'feed-mine' }, 'yours')),
        el('div', { class: 'muted small' },
          `${units(o.items)} item${units(o.items) === 1 ? '' : 's'} · ${money(o.total_cents)}` +
          (o.created_at !== undefined ? ` · ${clock(o.created_at)}` : ''))));
    const list = $('feed');
    list.prepend(item);
    while (list.children.length > FEED_MAX) list.lastElementChild.remove();
    $('feed-empty').hidden = true;
  }

  // ---- cluster panel --------------------------------------------------------------------------
  async function refreshCluster() {
    const box = $('cluster');
    try {
      const c = await request('GET', '/api/cluster');
      renderCluster(c || {});
      box.dataset.state = 'ready';
      $('cluster-updated').textContent = `Updated ${clock(Date.now())}`;
    } catch (e) {
      box.dataset.state = 'error';
      $('cluster-updated').textContent = `Cannot read the cluster (${e.message}); showing the last view.`;
    }
  }
  function renderCluster(c) {
    const shards = Array.isArray(c.shards) ? c.shards : [];
    const box = $('cluster');
    box.dataset.shards = String(shards.length);
    const meta = [];
    if (c.distribution) meta.push(String(c.distribution));
    if (c.epoch !== undefined) meta.push(`epoch ${c.epoch}`);
    meta.push(`${shards.length} shard${shards.length === 1 ? '' : 's'}`);
    $('cluster-meta').textContent = meta.join(' · ');
    box.replaceChildren(...shards.map((s) => {
      const nodes = Array.isArray(s.nodes) ? s.nodes : [];
      const primaryUp = nodes.some((n) => n.role === 'primary' && n.up);
      const allUp = nodes.length > 0 && nodes.every((n) => n.up);
      const health = !primaryUp ? 'down' : allUp ? 'up' : 'degraded';
      const ordered = nodes.slice().sort((a, b) => (a.role === 'primary' ? 0 : 1) - (b.role === 'primary' ? 0 : 1));
      return el('article', { class: `shard ${health}`, testid: 'cluster-shard',
                             dataset: { shard: s.name ?? '', health } },
        el('div', { class: 'shard-head' },
          el('strong', { testid: 'cluster-shard-name' }, s.name ?? '?'),
          el('span', { class: 'muted small', testid: 'cluster-shard-keys' },
            s.keys === undefined ? '' : s.keys === null ? 'keys: no answer' : `${groupInt.format(Number(s.keys) || 0)} keys`)),
        el('ul', { class: 'node-list' }, ordered.map((n) => el('li', {
          class: `node ${n.up ? 'up' : 'down'}`, testid: 'cluster-node',
          dataset: { role: n.role ?? '', up: String(Boolean(n.up)), address: n.address ?? '' } },
          el('span', { class: 'health-dot', 'aria-hidden': 'true' }),
          el('span', { class: 'node-role' }, n.role ?? ''),
          el('span', { class: 'node-addr' }, n.address ?? ''),
          el('span', { class: 'node-state' }, n.up ? 'up' : 'down')))),
        !primaryUp && el('p', { class: 'error-text small' }, 'No primary answering: writes to this shard fail until a replica is promoted.'));
    }));
  }

  // ---- worker stats ---------------------------------------------------------------------------
  async function refreshStats() {
    const box = $('stats-sold');
    try {
      const s = (await request('GET', '/api/stats')) || {};
      const sold = (Array.isArray(s.sold) ? s.sold : []).slice()
        .sort((a, b) => (Number(b.units) || 0) - (Number(a.units) || 0)).slice(0, 8);
      const low = (Array.isArray(s.low_stock) ? s.low_stock : []).slice()
        .sort((a, b) => (Number(a.stock) || 0) - (Number(b.stock) || 0)).slice(0, 8);
      box.replaceChildren(...(sold.length ? sold.map((x) => el('li', { testid: 'stats-sold-item', dataset: { productId: x.product_id } },
        el('span', {}, x.name ?? x.product_id), el('strong', { testid: 'stats-sold-units' }, `${x.units}`))) :
        [el('li', { class: 'muted' }, 'Nothing sold yet.')]));
      $('stats-low').replaceChildren(...(low.length ? low.map((x) => el('li', {
        testid: 'stats-low-item', class: Number(x.stock) <= 0 ? 'out' : '', dataset: { productId: x.product_id } },
        el('span', {}, x.name ?? x.product_id),
        el('strong', {}, Number(x.stock) <= 0 ? 'out' : `${x.stock} left`))) :
        [el('li', { class: 'muted' }, 'Every product is well stocked.')]));
      $('stats-events').textContent = s.events_applied !== undefined ? `${s.events_applied} events applied` : '';
      box.dataset.state = 'ready';
      box.dataset.events = String(s.events_applied ?? '');
    } catch (e) {
      box.dataset.state = 'error';
      $('stats-events').textContent = `unavailable (${e.message})`;
    }
  }

  // A poll that never overlaps itself and keeps going after errors.
  function every(ms, fn) {
    const tick = async () => {
      try { await fn(); } finally { setTimeout(tick, ms); }
    };
    tick();
  }

  // ---- wiring ---------------------------------------------------------------------------------
  function init() {
    let searchTimer = 0;
    $('search').addEventListener('input', (e) => {
      clearTimeout(searchTimer);
      const v = e.target.value.trim();
      searchTimer = setTimeout(() => {
        if (v === state.q) return;
        state.q = v;
        state.page = 1;
        loadProducts();
      }, SEARCH_DEBOUNCE_MS);
    });
    $('page-prev').addEventListener('click', () => { if (state.page > 1) { state.page -= 1; loadProducts(); } });
    $('page-next').addEventListener('click', () => { state.page += 1; loadProducts(); });
    $('checkout').addEventListener('click', checkout);

    loadView();
    renderCart();
    renderOrders();
    loadCategories();
    loadProducts();
    connectFeed();
    every(CLUSTER_REFRESH_MS, refreshCluster);
    every(STATS_REFRESH_MS, refreshStats);
    (async () => {
      try {
        if (!token) await newSession();
      } catch (e) {
        showMessage('error', `Could not start a session: ${e.message}`, e.code);
        return;
      }
      await loadCart();
      await loadOrders();
    })();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
