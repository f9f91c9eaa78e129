export { basicAuth } from './basic-auth.js';
export { type BoardOptions, createBoardApp } from './board-app.js';
